package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrStatusChanged is returned by PatchStatus when another writer changed
// the status since before was read: the caller's status was computed from
// one that is no longer stored, and is not written.
var ErrStatusChanged = errors.New("the status was changed by another writer since it was read")

// statusRetries bounds PatchStatus's tries when only other parts of the
// object keep changing.
const statusRetries = 3

// PatchStatus writes obj's status as a merge patch from before, guarded by
// before's resourceVersion, so that a replica that lost its lease (or any
// other writer) never overwrites a status it has not seen. When the
// object changed but its stored status is still before's (a user edited
// the spec or added an annotation), the patch is tried again on the new
// version; when the status itself changed, PatchStatus writes nothing and
// returns an error wrapping ErrStatusChanged (and the API's Conflict).
// reader should read around the cache. An object that is gone is not an
// error. On success obj holds the stored object's new resourceVersion.
func PatchStatus(ctx context.Context, c client.Client, reader client.Reader, before, obj client.Object) error {
	before = before.DeepCopyObject().(client.Object)
	for range statusRetries {
		obj.SetResourceVersion(before.GetResourceVersion())
		err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		switch {
		case err == nil || apierrors.IsNotFound(err):
			return nil
		case !apierrors.IsConflict(err):
			return fmt.Errorf("patch status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		stored := obj.DeepCopyObject().(client.Object)
		if err := reader.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("read %s/%s after a conflict: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		same, err := sameStatus(before, stored)
		if err != nil {
			return err
		}
		if !same {
			return fmt.Errorf("patch status of %s/%s: %w: %w", obj.GetNamespace(), obj.GetName(), ErrStatusChanged, err409(obj))
		}
		before.SetResourceVersion(stored.GetResourceVersion())
	}
	return fmt.Errorf("patch status of %s/%s: the object kept changing: %w", obj.GetNamespace(), obj.GetName(), err409(obj))
}

// err409 is the API's Conflict for obj, so that callers that requeue on
// conflicts keep doing so.
func err409(obj client.Object) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return apierrors.NewConflict(gvk.GroupVersion().WithResource(gvk.Kind).GroupResource(), obj.GetName(), ErrStatusChanged)
}

// sameStatus compares the status of two copies of one object as they are
// stored (times to the second, quantities canonical).
func sameStatus(a, b client.Object) (bool, error) {
	sa, err := statusOf(a)
	if err != nil {
		return false, err
	}
	sb, err := statusOf(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(sa, sb) || equality.Semantic.DeepEqual(sa, sb), nil
}

func statusOf(obj client.Object) (any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("read the status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return u["status"], nil
}

// Package lifecycle holds the steps that every Flux-dialect reconciler
// takes before its own work: the finalizer and the
// reconcile.fluxcd.io/requestedAt handshake.
//
//	if err := lifecycle.EnsureFinalizer(ctx, c, obj, sourcev1.SourceFinalizer); err != nil { ... }
//	force := lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
package lifecycle

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/tether-gitops/tether/api/meta"
)

// EnsureFinalizer adds finalizer to obj (with a merge patch) unless it is
// there already.
func EnsureFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	controllerutil.AddFinalizer(obj, finalizer)
	if err := c.Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("add finalizer to %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// RemoveFinalizer removes finalizer from obj; an object that is gone
// already is not an error.
func RemoveFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if !controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	controllerutil.RemoveFinalizer(obj, finalizer)
	return client.IgnoreNotFound(c.Patch(ctx, obj, patch))
}

// HandleRequest acknowledges a reconcile.fluxcd.io/requestedAt annotation
// by copying its value to *lastHandled (the object's
// status.lastHandledReconcileAt), and reports whether a new request asks
// for a full reconcile.
func HandleRequest(obj client.Object, lastHandled *string) bool {
	v, ok := obj.GetAnnotations()[meta.ReconcileRequestAnnotation]
	if !ok || v == *lastHandled {
		return false
	}
	*lastHandled = v
	return true
}

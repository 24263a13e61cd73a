package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// direct reports whether it is written by the engine itself rather than
// by the staged server-side apply: replaced objects, and lenient ones
// (whose unknown fields are dropped, which server-side apply cannot do).
func (it *item) direct() bool { return it.replace || it.lenient }

// validation is the field validation of it's writes.
func (it *item) validation() client.FieldValidation {
	if it.lenient {
		return client.FieldValidation("Ignore")
	}
	return client.FieldValidation("Strict")
}

// writeDirect writes it: create or update when replaced; create or a
// merge patch with unknown fields dropped when lenient. With dryRun nothing is stored
// and the returned object is the API server's prediction. live is the
// object as read before; a real update reads it again for a fresh
// resource version.
func (e *Engine) writeDirect(ctx context.Context, it *item, live *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	if !it.replace && live != nil {
		// Server-side apply checks fields against the schema whatever the
		// field validation says; a merge patch (kubectl apply
		// --validate=false) drops unknown fields.
		body, err := json.Marshal(it.obj.Object)
		if err != nil {
			return nil, err
		}
		obj := it.obj.DeepCopy()
		opts := []client.PatchOption{client.FieldOwner(e.owner.FieldManager), it.validation()}
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		return obj, e.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), opts...)
	}
	if !it.replace {
		return e.replace(ctx, it, live, dryRun)
	}
	// The object may move between the read and this write (a Deployment's
	// status does all the time): on a conflict, read it again and retry.
	var out *unstructured.Unstructured
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first || !dryRun {
			fresh, err := e.getLive(ctx, it)
			if err != nil {
				return fmt.Errorf("read before replace: %w", err)
			}
			live = fresh
		}
		first = false
		var err error
		out, err = e.replace(ctx, it, live, dryRun)
		return err
	})
	return out, err
}

// replace creates it when live is nil and replaces live otherwise.
func (e *Engine) replace(ctx context.Context, it *item, live *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	obj := it.obj.DeepCopy()
	owner := client.FieldOwner(e.owner.FieldManager)
	if live == nil {
		opts := []client.CreateOption{owner, it.validation()}
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		return obj, e.client.Create(ctx, obj, opts...)
	}
	obj.SetResourceVersion(live.GetResourceVersion())
	opts := []client.UpdateOption{owner, it.validation()}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	if err := e.client.Update(ctx, obj, opts...); err != nil {
		return nil, err
	}
	keepLiveMetadata(obj, live, it.obj)
	return obj, nil
}

// keepLiveMetadata puts back into a replace prediction the labels and
// annotations that others added to live and the desired object does not
// name (a 3-way view, as kubectl and Argo CD compare): a replace drops
// them, but they are not drift.
func keepLiveMetadata(predicted, live, desired *unstructured.Unstructured) {
	for _, field := range []string{"labels", "annotations"} {
		liveMap, _, _ := unstructured.NestedStringMap(live.Object, "metadata", field)
		wanted, _, _ := unstructured.NestedStringMap(desired.Object, "metadata", field)
		got, _, _ := unstructured.NestedStringMap(predicted.Object, "metadata", field)
		if got == nil {
			got = map[string]string{}
		}
		changed := false
		for k, v := range liveMap {
			if _, named := wanted[k]; !named {
				if _, ok := got[k]; !ok {
					got[k], changed = v, true
				}
			}
		}
		if changed {
			_ = unstructured.SetNestedStringMap(predicted.Object, got, "metadata", field)
		}
	}
}

// getLive reads it from the cluster; nil when it does not exist.
func (e *Engine) getLive(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	return liveFrom(ctx, e.client, it)
}

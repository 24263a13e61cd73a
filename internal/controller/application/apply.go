package application

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
)

// createNamespace creates the destination namespace for
// CreateNamespace=true, and applies managedNamespaceMetadata to it.
func (s *syncRun) createNamespace(ctx context.Context) error {
	ns := s.app.Spec.Destination.Namespace
	if ns == "" || !s.opts.Has(argov1.SyncOptionCreateNamespace) {
		return nil
	}
	obj := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if md := managedNamespaceMetadata(s.app); md != nil {
		obj.Labels, obj.Annotations = md.Labels, md.Annotations
		if err := s.dest.client.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager+"-namespace"), client.ForceOwnership); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
		return nil
	}
	err := s.dest.client.Create(ctx, obj, client.FieldOwner(FieldManager))
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

// respectIgnored returns desired with the fields that ignoreDifferences
// ignores taken from live (RespectIgnoreDifferences=true), so that a sync
// does not undo what the rules say to leave alone.
func respectIgnored(norm *diff.Normalizer, desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	kept := desired.DeepCopy()
	if err := norm.Normalize(live.DeepCopy(), kept); err != nil {
		return desired
	}
	restore(kept.Object, desired.Object, live.Object)
	return kept
}

// restore puts back into dst, from live, every field that orig has and
// dst lost.
func restore(dst, orig, live map[string]any) {
	for k, ov := range orig {
		dv, ok := dst[k]
		lv, inLive := live[k]
		if !ok {
			if inLive {
				dst[k] = runtime.DeepCopyJSONValue(lv)
			}
			continue
		}
		switch o := ov.(type) {
		case map[string]any:
			d, ok1 := dv.(map[string]any)
			l, _ := lv.(map[string]any)
			if ok1 {
				restore(d, o, l)
			}
		case []any:
			d, ok1 := dv.([]any)
			l, _ := lv.([]any)
			if !ok1 {
				continue
			}
			if len(d) != len(o) {
				if inLive {
					dst[k] = runtime.DeepCopyJSONValue(lv)
				}
				continue
			}
			for i := range o {
				om, ok1 := o[i].(map[string]any)
				dm, ok2 := d[i].(map[string]any)
				var lm map[string]any
				if i < len(l) {
					lm, _ = l[i].(map[string]any)
				}
				if ok1 && ok2 {
					restore(dm, om, lm)
				}
			}
		}
	}
}

// managedNamespaceMetadata is spec.syncPolicy.managedNamespaceMetadata, if
// any (CreateNamespace may come from the operation alone).
func managedNamespaceMetadata(app *argov1.Application) *argov1.ManagedNamespaceMetadata {
	if app.Spec.SyncPolicy == nil {
		return nil
	}
	return app.Spec.SyncPolicy.ManagedNamespaceMetadata
}

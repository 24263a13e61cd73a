package kustomization

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"k8s.io/apimachinery/pkg/types"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/engine"
)

// finalize runs when a Kustomization is deleted: with spec.prune (and a
// deletion policy other than Orphan) the objects it applied are deleted,
// as Flux does; then the finalizer goes.
func (r *Reconciler) finalize(ctx context.Context, obj *kustomizev1.Kustomization) error {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	r.forget(key)
	policy := obj.Spec.DeletionPolicy
	if policy == "" || policy == kustomizev1.DeletionPolicyMirrorPrune {
		policy = kustomizev1.DeletionPolicyOrphan
		if obj.Spec.Prune {
			policy = kustomizev1.DeletionPolicyDelete
		}
	}
	if inv := inventoryOf(obj.Status.Inventory); len(inv) > 0 && policy != kustomizev1.DeletionPolicyOrphan && !obj.Spec.Suspend {
		if err := r.pruneAll(ctx, obj, inv); err != nil {
			// The kubeconfig Secret or the service account went first (as
			// when a namespace is deleted): nothing can delete the objects
			// any more, and keeping the finalizer would block the
			// namespace for ever. Say so and let go.
			if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err) {
				return fmt.Errorf("delete objects of Kustomization %s: %w", key, err)
			}
			r.event(obj, corev1.EventTypeWarning, meta.PruneFailedReason,
				fmt.Sprintf("objects left in place, they can no longer be deleted: %v", err))
		}
	}
	return lifecycle.RemoveFinalizer(ctx, r.Client, obj, kustomizev1.KustomizationFinalizer)
}

// pruneAll deletes every object of inv with obj's identity and cluster.
func (r *Reconciler) pruneAll(ctx context.Context, obj *kustomizev1.Kustomization, inv engine.Inventory) error {
	tgt, err := r.target(ctx, obj)
	if err != nil {
		return err
	}
	eng, err := engine.New(tgt.client, Owner(obj))
	if err != nil {
		return err
	}
	_, err = eng.Prune(ctx, inv, nil, engine.PruneOptions{AllowEmpty: true})
	return err
}

// Owner is the engine identity of obj: Tether's field manager for
// Kustomizations and Flux's name and namespace labels.
func Owner(obj *kustomizev1.Kustomization) engine.Owner {
	return engine.Owner{
		Name: obj.Name, Namespace: obj.Namespace, FieldManager: FieldManager,
		Labels: map[string]string{kustomizev1.NameLabel: obj.Name, kustomizev1.NamespaceLabel: obj.Namespace},
	}
}

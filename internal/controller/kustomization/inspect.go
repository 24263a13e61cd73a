package kustomization

import (
	"context"
	"fmt"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/engine"
)

// Inspection is what reconciling a Kustomization now would do, found
// without writing anything: the web UI's and the API's diff.
type Inspection struct {
	// Revision is the source revision rendered.
	Revision string
	// Changes are the rendered objects with what applying them would do;
	// a configured one carries its live and predicted forms (Secret
	// values masked, see engine.Change).
	Changes []engine.Change
	// Deleted are the inventory's objects that the revision no longer
	// renders, which a pruning Kustomization would delete.
	Deleted []engine.ObjectRef
}

// Inspect renders obj's current source artifact as a reconcile does and
// compares it with the target cluster by server-side dry run: the cluster
// and obj's status are left as they are. Errors are masked as the
// reconcile's are (no substituted Secret value appears).
func (r *Reconciler) Inspect(ctx context.Context, obj *kustomizev1.Kustomization) (_ *Inspection, retErr error) {
	obj = obj.DeepCopy()
	art, err := r.sourceArtifact(ctx, obj)
	if err != nil {
		return nil, err
	}
	vars, secretValues, err := r.substitutions(ctx, obj)
	if err != nil {
		return nil, err
	}
	defer func() { retErr = masked(retErr, secretValues) }()
	tgt, err := r.target(ctx, obj)
	if err != nil {
		return nil, err
	}
	_, live, err := r.clusterWatch(tgt)
	if err != nil {
		return nil, err
	}
	dir, release, err := r.artifacts.get(ctx, art)
	if err != nil {
		return nil, err
	}
	defer release()
	dec, err := Decryptor(ctx, r.APIReader, obj)
	if err != nil {
		return nil, err
	}
	objs, err := r.Renderer.Render(ctx, dir, art.Digest, r.renderOptions(obj, vars, dec))
	if err != nil {
		return nil, buildError(art.Revision, err)
	}
	eng, err := engine.New(tgt.client, Owner(obj), engineOptions(tgt, live)...)
	if err != nil {
		return nil, err
	}
	changes, err := eng.Diff(ctx, InputsOf(objs), ApplyOptions(obj))
	if err != nil {
		return nil, fmt.Errorf("dry run of revision '%s' failed: %w", art.Revision, err)
	}
	deleted, err := Pruned(obj, changes)
	if err != nil {
		return nil, err
	}
	return &Inspection{Revision: art.Revision, Changes: changes, Deleted: deleted}, nil
}

// Pruned returns the objects of ks's inventory that changes (the
// rendered set) lacks, when ks prunes: those an apply would delete.
func Pruned(ks *kustomizev1.Kustomization, changes []engine.Change) ([]engine.ObjectRef, error) {
	if !ks.Spec.Prune || ks.Status.Inventory == nil {
		return nil, nil
	}
	rendered := make(engine.Inventory, 0, len(changes))
	for _, c := range changes {
		rendered = append(rendered, engine.Entry{ID: c.ID, Version: c.Version})
	}
	gone, err := inventoryOf(ks.Status.Inventory).Diff(rendered)
	if err != nil {
		return nil, fmt.Errorf("inventory of Kustomization %s/%s: %w", ks.Namespace, ks.Name, err)
	}
	return gone.Refs(), nil
}

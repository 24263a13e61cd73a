package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PruneDisabledAnnotation, set to PruneDisabledValue on an object (label
// or annotation), keeps Prune from ever deleting it, whatever the owner.
// It is Flux's; Argo CD's equivalent is passed in PruneOptions.Exclusions.
const (
	PruneDisabledAnnotation = "kustomize.toolkit.fluxcd.io/prune"
	PruneDisabledValue      = "disabled"
)

// ErrPruneAll is returned, wrapped, when Prune is asked to delete every
// object of an owner without PruneOptions.AllowEmpty.
var ErrPruneAll = errors.New("refusing to delete every object")

// PruneOptions tune Prune.
type PruneOptions struct {
	// AllowEmpty lets Prune delete everything when the new inventory is
	// empty (and the old one is not). Without it an empty render - a
	// wrong path, a broken overlay - cannot wipe an application.
	AllowEmpty bool
	// Propagation is how dependents of a deleted object go: Background
	// (the default), Foreground or Orphan.
	Propagation metav1.DeletionPropagation
	// Exclusions keep the objects carrying any of these labels or
	// annotations, in addition to PruneDisabledAnnotation. A value
	// matches case-insensitively, and an annotation holding a
	// comma-separated list matches when one item does, as Argo CD's
	// argocd.argoproj.io/sync-options: Prune=false,ServerSideApply=true.
	Exclusions map[string]string
}

// Prune deletes the objects that old lists and new does not, namespaced
// objects before Namespaces and custom resources before their CRDs. It
// keeps (reports skipped) objects that carry an exclusion or that no
// longer carry every one of the owner's labels: someone else has adopted
// them. An object is deleted only if it is still the one that was checked
// (UID precondition). Objects already gone are not reported. Every object
// is tried; the error names each that failed.
func (e *Engine) Prune(ctx context.Context, old, new Inventory, opts PruneOptions) ([]Change, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	stale, err := old.Diff(new)
	if err != nil {
		return nil, err
	}
	if len(new) == 0 && len(stale) > 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("%w of %s (%d): the new set is empty; if that is intended, allow empty sets", ErrPruneAll, e.owner, len(stale))
	}
	policy := opts.Propagation
	if policy == "" {
		policy = metav1.DeletePropagationBackground
	}
	var changes []Change
	var errs []error
	for _, entry := range stale {
		c, err := e.pruneOne(ctx, entry, policy, opts.Exclusions)
		if c != nil {
			changes = append(changes, *c)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
	}
	return changes, errors.Join(errs...)
}

// pruneOne deletes one object unless it must be kept.
func (e *Engine) pruneOne(ctx context.Context, entry Entry, policy metav1.DeletionPropagation, exclusions map[string]string) (*Change, error) {
	m, err := entry.ObjMetadata()
	if err != nil {
		return nil, err
	}
	subject := utils.FmtObjMetadata(m)
	change := func(a Action) *Change {
		return &Change{ID: entry.ID, Version: entry.Version, Subject: subject, Action: a}
	}
	live, err := e.getMetadata(ctx, m, entry.Version)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, &ObjectError{Subject: subject, Err: err}
	case live.GetDeletionTimestamp() != nil:
		return change(ActionDeleted), nil
	case !e.owns(live) || matchesAny(live, exclusions) ||
		matchesAny(live, map[string]string{PruneDisabledAnnotation: PruneDisabledValue}):
		return change(ActionSkipped), nil
	}
	uid := live.GetUID()
	err = e.client.Delete(ctx, live, client.PropagationPolicy(policy), client.Preconditions{UID: &uid})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case apierrors.IsConflict(err):
		// Replaced since we looked: the new object is not the one the
		// inventory recorded.
		return change(ActionSkipped), nil
	case err != nil:
		return nil, &ObjectError{Subject: subject, Err: err}
	}
	return change(ActionDeleted), nil
}

// getMetadata reads only the metadata of m (a Secret's data never leaves
// the server), at version, or at the preferred version when version is
// empty or no longer served.
func (e *Engine) getMetadata(ctx context.Context, m object.ObjMetadata, version string) (*metav1.PartialObjectMetadata, error) {
	get := func(v string) (*metav1.PartialObjectMetadata, error) {
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(m.GroupKind.WithVersion(v))
		return live, e.client.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.Name}, live)
	}
	if version != "" {
		live, err := get(version)
		if !meta.IsNoMatchError(err) {
			return live, err
		}
	}
	mapping, err := e.mapper.RESTMapping(m.GroupKind)
	if err != nil {
		return nil, err
	}
	return get(mapping.GroupVersionKind.Version)
}

// owns reports whether o still carries every owner label.
func (e *Engine) owns(o metav1.Object) bool {
	if e.owner.Owns != nil {
		return e.owner.Owns(o)
	}
	labels := o.GetLabels()
	for k, v := range e.owner.Labels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// matchesAny reports whether o has one of the labels or annotations of
// sel, see PruneOptions.Exclusions.
func matchesAny(o metav1.Object, sel map[string]string) bool {
	labels, annotations := o.GetLabels(), o.GetAnnotations()
	for k, want := range sel {
		if strings.EqualFold(labels[k], want) && labels[k] != "" {
			return true
		}
		v, ok := annotations[k]
		if !ok || v == "" {
			continue
		}
		for item := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(item), want) {
				return true
			}
		}
	}
	return false
}

package engine

import (
	"context"
	"errors"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Diff reports, for every object, what Apply would do: created,
// configured, unchanged or skipped (excluded). It decides as Apply does,
// by a server-side dry-run apply compared with the live object
// (fluxcd/pkg/ssa's Diff), so it writes nothing; it is the drift check
// of Flux and the sync status of Argo CD. Configured objects come with
// their Live and Desired forms, Secret values masked.
//
// Objects that the API server rejects fail Diff as they fail Apply, all
// of them named in one error. Objects in a Namespace, or of a kind, that
// the set itself creates are reported created.
func (e *Engine) Diff(ctx context.Context, objs []Input, opts ApplyOptions) ([]Change, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	p, err := e.plan(objs, opts)
	if err != nil {
		return nil, err
	}
	return e.diff(ctx, e.diffManager(opts.Concurrency), p, opts, true)
}

// diff dry-runs every object of the plan, Concurrency at a time, and
// returns one change per item in plan order, or an error naming every
// object that failed.
func (e *Engine) diff(ctx context.Context, rm *ssa.ResourceManager, p *plan, opts ApplyOptions, keepObjects bool) ([]Change, error) {
	changes := make([]Change, len(p.items))
	errs := make([]error, len(p.items))
	known := map[string]*Comparison{}
	for i := range opts.Compared {
		known[opts.Compared[i].ID] = &opts.Compared[i]
	}
	var g errgroup.Group
	g.SetLimit(concurrency(opts.Concurrency))
	for i, it := range p.items {
		if c, ok := known[it.id.String()]; ok && !keepObjects && c.trusted(it) {
			changes[i] = it.change(c.Action)
			it.validated, it.live = c.Action.Changed(), c.Live
			continue
		}
		g.Go(func() error {
			changes[i], errs[i] = e.diffOne(ctx, rm, p, it, opts, keepObjects)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, p.secrets.redactError(err)
	}
	return changes, nil
}

func (e *Engine) diffOne(ctx context.Context, rm *ssa.ResourceManager, p *plan, it *item, opts ApplyOptions, keepObjects bool) (Change, error) {
	if it.direct() {
		// The same read and dry run as Compare, which knows how to
		// predict a replace or a lenient write.
		c := e.compareOne(ctx, p, it)
		it.live = c.Live
		return c.Change, c.Err
	}
	// What the live cache remembers saves the dry run: nothing changed
	// since one found nothing to do. (Without a cache this read would
	// be a GET of its own beside the diff's.)
	var cached *unstructured.Unstructured
	if e.live != nil {
		var err error
		if cached, err = e.readLive(ctx, it); err == nil && e.unchanged(it, cached) {
			return it.change(ActionUnchanged), nil
		}
	}
	entry, live, desired, err := rm.Diff(ctx, it.obj, ssa.DiffOptions{
		Exclusions:           opts.Exclusions,
		IfNotPresentSelector: opts.IfNotPresent,
	})
	switch {
	case err == nil:
	case p.createdByPlan(it, err):
		return it.change(ActionCreated), nil
	case e.mayRecreate(it, opts) && immutableOnly(err):
		return it.change(ActionCreated), nil
	default:
		return Change{}, p.secrets.redactError(&ObjectError{Source: it.source, Subject: it.subject(), Err: err})
	}
	c := it.change(Action(entry.Action))
	it.validated = c.Action == ActionCreated && live == nil
	if c.Action == ActionUnchanged && cached != nil {
		// Read before the diff's own read: if the object moved in
		// between, the next diff misses this memory, and dry-runs.
		e.remember(it, cached.GetResourceVersion())
	}
	if keepObjects && c.Action == ActionConfigured {
		c.Live, c.Desired = live, desired
		if utils.IsSecret(it.obj) {
			maskLastApplied(c.Live)
			maskLastApplied(c.Desired)
		}
	}
	return c, nil
}

// mayRecreate reports whether Force, or the ForceSelector, lets the engine
// delete and re-create it.obj when fields that cannot change would change.
func (e *Engine) mayRecreate(it *item, opts ApplyOptions) bool {
	return opts.Force || utils.AnyInMetadata(it.obj, opts.ForceSelector)
}

// maskLastApplied masks kubectl's last-applied-configuration annotation,
// which holds a whole Secret in clear when kubectl applied it client-side
// (CVE-2023-40029).
func maskLastApplied(u *unstructured.Unstructured) {
	if u == nil {
		return
	}
	a := u.GetAnnotations()
	if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
		a[corev1.LastAppliedConfigAnnotation] = "***"
		u.SetAnnotations(a)
	}
}

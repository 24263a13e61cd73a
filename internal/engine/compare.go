package engine

import (
	"context"

	"github.com/fluxcd/pkg/ssa/normalize"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Comparison is one desired object set beside the cluster: what is there,
// and what a server-side apply would make of it.
type Comparison struct {
	Change
	// Desired is the object as planned: defaulted namespace, owner labels.
	Desired *unstructured.Unstructured
	// Live is the object in the cluster; nil when it does not exist.
	Live *unstructured.Unstructured
	// Predicted is the result of a server-side apply dry run: the live
	// object with the desired fields merged in and the API server's
	// defaults and admission applied. Nil when the object is missing and
	// the dry run could not run yet (its Namespace or CRD is in the same
	// set), or when Err is set.
	Predicted *unstructured.Unstructured
	// Err says why the dry run refused the object (an *ObjectError naming
	// its file); the rest of the set is still compared.
	Err error
}

// Compare reads every object of the set from the cluster and predicts, by
// a server-side apply dry run, what applying it would change. Unlike Diff
// it always returns the live object (for health checks) and does not stop
// at an object the API server refuses: that object's Comparison carries
// the error. Action is ActionCreated for a missing object, ActionConfigured
// when the prediction differs from the live object in labels, annotations
// or anything outside metadata and status, and ActionUnchanged otherwise;
// callers that ignore some differences compare Live and Predicted
// themselves. Compare writes nothing.
func (e *Engine) Compare(ctx context.Context, objs []Input, opts ApplyOptions) ([]Comparison, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	p, err := e.plan(objs, opts)
	if err != nil {
		return nil, err
	}
	out := make([]Comparison, len(p.items))
	var g errgroup.Group
	g.SetLimit(concurrency(opts.Concurrency))
	for i, it := range p.items {
		g.Go(func() error {
			out[i] = e.compareOne(ctx, p, it)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *Engine) compareOne(ctx context.Context, p *plan, it *item) Comparison {
	c := Comparison{Change: it.change(ActionUnchanged), Desired: it.obj.DeepCopy()}
	live, err := e.readLive(ctx, it)
	switch {
	case err == nil && e.unchanged(it, live):
		c.Live, c.Predicted = live, live.DeepCopy()
		return c
	case err == nil && live == nil:
		if predicted := e.predictedAbsent(it); predicted != nil {
			c.Predicted, c.Action = predicted, ActionCreated
			return c
		}
	}
	switch {
	case err == nil:
		c.Live = live
	case !p.createdByPlan(it, err):
		c.Err = p.secrets.redactError(&ObjectError{Source: it.source, Subject: it.subject(), Err: err})
		return c
	}
	var predicted *unstructured.Unstructured
	if it.direct() {
		predicted, err = e.writeDirect(ctx, it, c.Live, true)
	} else {
		predicted = it.obj.DeepCopy()
		err = e.client.Patch(ctx, predicted, client.Apply, client.DryRunAll,
			client.FieldOwner(e.owner.FieldManager), client.ForceOwnership)
	}
	if err == nil && e.staleLive(c.Live, predicted) {
		// The cache has not caught up with a write it was not told of
		// (Helm's own, another controller's): read what the dry run saw.
		if fresh, ferr := liveFrom(ctx, e.client, it); ferr == nil {
			c.Live = fresh
		}
	}
	switch {
	case err == nil:
		c.Predicted = predicted
		if c.Live == nil {
			e.rememberAbsent(it, predicted)
		}
	case c.Live == nil && p.createdByPlan(it, err):
	default:
		c.Err = p.secrets.redactError(&ObjectError{Source: it.source, Subject: it.subject(), Err: err})
	}
	switch {
	case c.Live == nil:
		c.Action = ActionCreated
	case c.Predicted != nil && Drifted(c.Live, c.Predicted):
		c.Action = ActionConfigured
	case c.Predicted != nil:
		e.remember(it, c.Live.GetResourceVersion())
	}
	return c
}

// trusted reports whether c may stand in for diffing it: it was predicted
// without error for the very object it would apply.
func (c *Comparison) trusted(it *item) bool {
	return c.Err == nil && c.Predicted != nil &&
		equality.Semantic.DeepEqual(c.Desired.Object, it.obj.Object)
}

// Drifted reports whether applying would change the live object: its
// labels, its annotations, or anything outside metadata and status.
func Drifted(live, predicted *unstructured.Unstructured) bool {
	if !equality.Semantic.DeepEqual(orEmpty(live.GetLabels()), orEmpty(predicted.GetLabels())) ||
		!equality.Semantic.DeepEqual(orEmpty(live.GetAnnotations()), orEmpty(predicted.GetAnnotations())) {
		return true
	}
	return !equality.Semantic.DeepEqual(bodyOf(live), bodyOf(predicted))
}

func bodyOf(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	delete(c.Object, "metadata")
	delete(c.Object, "status")
	if err := normalize.DryRunUnstructured(c); err != nil {
		return u.Object
	}
	return c.Object
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

package engine

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// replaceOptions are the options of a create or update of it: strict
// field validation unless the input is lenient.
func (e *Engine) replaceOptions(it *item, dryRun bool) []interface {
	client.CreateOption
	client.UpdateOption
} {
	validation := client.FieldValidation("Strict")
	if it.lenient {
		validation = client.FieldValidation("Ignore")
	}
	opts := []interface {
		client.CreateOption
		client.UpdateOption
	}{client.FieldOwner(e.owner.FieldManager), validation}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return opts
}

// replaceObject creates it.obj when live is nil and replaces live with it
// otherwise; with dryRun nothing is stored and the returned object is the
// API server's prediction.
func (e *Engine) replaceObject(ctx context.Context, it *item, live *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	obj := it.obj.DeepCopy()
	if live == nil {
		var opts []client.CreateOption
		for _, o := range e.replaceOptions(it, dryRun) {
			opts = append(opts, o)
		}
		return obj, e.client.Create(ctx, obj, opts...)
	}
	obj.SetResourceVersion(live.GetResourceVersion())
	var opts []client.UpdateOption
	for _, o := range e.replaceOptions(it, dryRun) {
		opts = append(opts, o)
	}
	return obj, e.client.Update(ctx, obj, opts...)
}

// diffReplaced is diffOne for an object written by replace.
func (e *Engine) diffReplaced(ctx context.Context, p *plan, it *item) (Change, error) {
	live, err := e.getLive(ctx, it)
	if err != nil {
		return Change{}, p.secrets.redactError(&ObjectError{Source: it.source, Subject: it.subject(), Err: err})
	}
	it.live = live
	predicted, err := e.replaceObject(ctx, it, live, true)
	switch {
	case err != nil && live == nil && p.createdByPlan(it, err):
		return it.change(ActionCreated), nil
	case err != nil:
		return Change{}, p.secrets.redactError(&ObjectError{Source: it.source, Subject: it.subject(), Err: err})
	case live == nil:
		return it.change(ActionCreated), nil
	case Drifted(live, predicted):
		return it.change(ActionConfigured), nil
	}
	return it.change(ActionUnchanged), nil
}

// getLive reads it from the cluster; nil when it does not exist.
func (e *Engine) getLive(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(it.obj.GroupVersionKind())
	err := e.client.Get(ctx, client.ObjectKeyFromObject(it.obj), live)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return live, err
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ApplyOptions tune Apply and Diff.
type ApplyOptions struct {
	// Force deletes and re-creates an object when the only reason it
	// cannot be applied is a change to fields that cannot change (a Job's
	// template, a Service's clusterIP): Flux's spec.force. An object that
	// is invalid for any other reason is never deleted.
	Force bool
	// ForceSelector forces the objects carrying any of these labels or
	// annotations (e.g. kustomize.toolkit.fluxcd.io/force: enabled) as
	// Force does for all.
	ForceSelector map[string]string
	// DefaultNamespace is set on namespaced objects that have none.
	DefaultNamespace string
	// Exclusions leave alone the objects, desired or live, that carry any
	// of these labels or annotations with that value (e.g.
	// kustomize.toolkit.fluxcd.io/reconcile: disabled): reported skipped,
	// neither validated nor written. Values compare case-insensitively.
	Exclusions map[string]string
	// IfNotPresent creates the objects carrying any of these labels or
	// annotations when missing and otherwise leaves them alone (e.g.
	// kustomize.toolkit.fluxcd.io/ssa: IfNotPresent).
	IfNotPresent map[string]string
	// Concurrency is how many objects are dry-run at once:
	// DefaultConcurrency when 0, at most MaxConcurrency.
	Concurrency int
}

// Result is the outcome of Apply.
type Result struct {
	// ChangeSet has one change per object, in apply order.
	ChangeSet []Change
	// Inventory lists the objects of the set, in apply order, skipped ones
	// included: they are still the owner's.
	Inventory Inventory
}

// Apply makes the cluster hold objs, in four steps.
//
// Plan: every object is copied and normalized, labelled with the owner's
// labels, given DefaultNamespace when namespaced without one (cluster-
// scoped objects lose any namespace), and ordered as Flux orders them:
// CRDs, Namespaces and ClusterRoles first, then kinds named "*Class",
// then the rest. Objects without kind or name, of unknown kinds, or
// declared twice fail the plan.
//
// Validate: every object is dry-run with server-side apply before
// anything is written, Concurrency at a time. If any fails - invalid,
// forbidden to the client's user, rejected by admission - Apply returns
// one error naming each failure as "<Source>: <Kind>/<namespace>/<name>:
// <problem>" and writes nothing. One case cannot be validated ahead: an
// object in a Namespace, or of a kind, that this same set creates, since
// the API server checks neither schema nor admission before the Namespace
// or CRD exists. Its dry-run error is accepted only when it says exactly
// that - the namespace is not found and the set has that Namespace, or
// the kind is unknown and the set has a CRD defining that group, kind and
// version - and every other object is still validated. Such an object is
// validated by the dry-run of its own stage below, after the Namespaces
// and CRDs are applied and before anything of its stage is written: if it
// is invalid, Apply fails with the definitions stage written and nothing
// else.
//
// Apply: only objects whose dry run differs from the live object (or that
// do not exist) are applied, by fluxcd/pkg/ssa's ApplyAllStaged with the
// owner's field manager: definitions first, waiting until CRDs are
// Established, then classes, then the rest. When nothing differs Apply
// makes no write request at all: one GET and one dry-run PATCH per object.
//
// Result: the change per object and the inventory of the set. On an error
// after writing began, Apply returns the error and a Result whose
// ChangeSet and Inventory hold the objects that are in the cluster as
// desired - unchanged, skipped, and applied before the error - so that
// the caller can remember what it owns. (Within the stage that failed,
// fluxcd/pkg/ssa reports nothing: an object of that stage written just
// before a later one failed is not listed.)
//
// Secret values never appear in errors or changes.
func (e *Engine) Apply(ctx context.Context, objs []Input, opts ApplyOptions) (*Result, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	p, err := e.plan(objs, opts)
	if err != nil {
		return nil, err
	}
	rm := e.manager(opts.Concurrency)
	changes, err := e.diff(ctx, rm, p, opts, false)
	if err != nil {
		return nil, err
	}
	var todo []*unstructured.Unstructured
	for i, c := range changes {
		if c.Action == ActionCreated || c.Action == ActionConfigured {
			todo = append(todo, p.items[i].obj)
		}
	}
	if len(todo) == 0 {
		return &Result{ChangeSet: changes, Inventory: p.inventory()}, nil
	}
	cs, err := rm.ApplyAllStaged(ctx, todo, e.ssaOptions(ctx, opts))
	done := map[object.ObjMetadata]ssa.Action{}
	if cs != nil {
		for _, en := range cs.Entries {
			done[en.ObjMetadata] = en.Action
		}
	}
	if err != nil {
		partial := &Result{}
		for i, it := range p.items {
			a, ok := done[it.id]
			if !ok && changes[i].Action.Changed() {
				continue
			}
			if ok {
				changes[i].Action = Action(a)
			}
			partial.ChangeSet = append(partial.ChangeSet, changes[i])
			partial.Inventory = append(partial.Inventory, EntryOf(it.obj))
		}
		return partial, p.secrets.redactError(p.applyError(err))
	}
	for i, it := range p.items {
		if a, ok := done[it.id]; ok {
			changes[i].Action = Action(a)
		}
	}
	return &Result{ChangeSet: changes, Inventory: p.inventory()}, nil
}

// ssaOptions translates opts for fluxcd/pkg/ssa. Its wait for CRDs to be
// Established runs without a context, so its timeout is what is left of
// ctx.
func (e *Engine) ssaOptions(ctx context.Context, opts ApplyOptions) ssa.ApplyOptions {
	o := ssa.DefaultApplyOptions()
	o.Force = opts.Force
	o.ForceSelector = opts.ForceSelector
	o.ExclusionSelector = opts.Exclusions
	o.IfNotPresentSelector = opts.IfNotPresent
	// kubectl's client-side apply leaves the whole object, a Secret's
	// values included, in an annotation (CVE-2023-40029); drop it from
	// every object that is written anyway.
	o.Cleanup = ssa.ApplyCleanupOptions{Annotations: []string{corev1.LastAppliedConfigAnnotation}}
	o.WaitInterval = min(e.pollInterval, 500*time.Millisecond)
	if d, ok := ctx.Deadline(); ok {
		o.WaitTimeout = max(time.Until(d), time.Second)
	}
	return o
}

// applyError names the object an error of ApplyAllStaged is about.
func (p *plan) applyError(err error) error {
	var dryRun *ssaerrors.DryRunErr
	if errors.As(err, &dryRun) && dryRun.InvolvedObject() != nil {
		if it, ok := p.byID[object.UnstructuredToObjMetadata(dryRun.InvolvedObject())]; ok {
			return &ObjectError{Source: it.source, Subject: it.subject(), Err: dryRun.Unwrap()}
		}
	}
	// ssa's other errors read "<Kind>/<namespace>/<name> <what failed>: <cause>".
	msg := err.Error()
	for _, it := range p.items {
		rest, ok := strings.CutPrefix(msg, it.subject()+" ")
		if !ok {
			continue
		}
		cause := errors.New(rest)
		if inner := errors.Unwrap(err); inner != nil {
			what, _, _ := strings.Cut(rest, ": ")
			cause = fmt.Errorf("%s: %w", what, inner)
		}
		return &ObjectError{Source: it.source, Subject: it.subject(), Err: cause}
	}
	return fmt.Errorf("apply: %w", err)
}

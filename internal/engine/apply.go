package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	// Mark, when set, is called on every object after its namespace is
	// defaulted and before it is compared or applied: an Argo CD
	// Application sets its tracking annotation there.
	Mark func(obj *unstructured.Unstructured)
	// Compared, when set, holds the result of an earlier Compare of these
	// objects: Apply trusts it instead of reading and dry-running each
	// object again, and writes a changed object with one request. An
	// object whose comparison has an error, no prediction, or another
	// desired state is diffed as usual.
	Compared []Comparison
	// Namespaces will exist before anything is written, though the set does
	// not declare them (Argo CD's CreateNamespace=true): objects in them
	// count as new instead of failing the dry run.
	Namespaces []string
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
// do not exist) are applied, with the owner's field manager, stage by
// stage: definitions first, waiting until CRDs are Established, then
// classes, then the rest. New objects whose dry run passed are created
// with one server-side apply each; changed objects go through
// fluxcd/pkg/ssa's ApplyAllStaged (see write). When nothing differs Apply
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
	changes, err := e.diff(ctx, e.diffManager(opts.Concurrency), p, opts, false)
	if err != nil {
		return nil, err
	}
	done, err := e.write(ctx, rm, p, changes, opts)
	if err != nil {
		partial := &Result{}
		for i, it := range p.items {
			a, ok := done[it.id]
			if !ok && changes[i].Action.Changed() {
				continue
			}
			if ok {
				changes[i].Action = a
			}
			partial.ChangeSet = append(partial.ChangeSet, changes[i])
			partial.Inventory = append(partial.Inventory, EntryOf(it.obj))
		}
		return partial, p.secrets.redactError(err)
	}
	for i, it := range p.items {
		if a, ok := done[it.id]; ok {
			changes[i].Action = a
		}
	}
	return &Result{ChangeSet: changes, Inventory: p.inventory()}, nil
}

// write applies the objects that diff found new or changed, stage by
// stage. Objects that do not exist yet and whose dry run passed are
// created with one server-side apply request each: they need neither
// ssa's second diff, nor its clean-up of older field managers, nor
// re-creation. Everything else (changed objects, objects the plan's own
// Namespaces or CRDs made impossible to validate ahead, forced
// re-creations) goes through fluxcd/pkg/ssa, which validates its stage
// before writing it.
func (e *Engine) write(ctx context.Context, rm *ssa.ResourceManager, p *plan, changes []Change, opts ApplyOptions) (map[object.ObjMetadata]Action, error) {
	done := map[object.ObjMetadata]Action{}
	var mu sync.Mutex
	for stage := stageDefinitions; stage <= stageRest; stage++ {
		var created []*item
		var viaSSA []*unstructured.Unstructured
		for i, it := range p.items {
			if stageOf(it.obj) != stage || (changes[i].Action != ActionCreated && changes[i].Action != ActionConfigured) {
				continue
			}
			if it.validated || it.direct() {
				created = append(created, it)
			} else {
				viaSSA = append(viaSSA, it.obj)
			}
		}
		// ssa first: it validates its part of the stage (objects the plan's
		// own Namespaces or CRDs kept from being validated ahead) before
		// writing any of it, so nothing of a stage is written when one of
		// those is invalid.
		if len(viaSSA) > 0 {
			cs, err := rm.ApplyAllStaged(ctx, viaSSA, e.ssaOptions(ctx, opts))
			if cs != nil {
				for _, en := range cs.Entries {
					done[en.ObjMetadata] = Action(en.Action)
				}
			}
			if err != nil {
				return done, p.applyError(err)
			}
		}
		var g errgroup.Group
		g.SetLimit(concurrency(max(opts.Concurrency, MaxConcurrency/2)))
		errs := make([]error, len(created))
		for i, it := range created {
			g.Go(func() error {
				action := ActionCreated
				if it.live != nil {
					action = ActionConfigured
				}
				var err error
				if it.direct() {
					_, err = e.writeDirect(ctx, it, it.live, false)
				} else {
					obj := it.obj.DeepCopy()
					err = e.client.Patch(ctx, obj, client.Apply, client.FieldOwner(e.owner.FieldManager), client.ForceOwnership)
					if err == nil {
						e.wrote(it, obj)
					}
				}
				if err != nil {
					errs[i] = &ObjectError{Source: it.source, Subject: it.subject(), Err: err}
					return nil
				}
				mu.Lock()
				done[it.id] = action
				mu.Unlock()
				return nil
			})
		}
		_ = g.Wait()
		if err := errors.Join(errs...); err != nil {
			return done, err
		}
		if stage == stageDefinitions {
			if err := e.waitForDefinitions(ctx, rm, created); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// waitForDefinitions waits until the CRDs among created are Established,
// so that the next stage can use their kinds.
func (e *Engine) waitForDefinitions(ctx context.Context, rm *ssa.ResourceManager, created []*item) error {
	var crds object.ObjMetadataSet
	for _, it := range created {
		if it.id.GroupKind.Kind == "CustomResourceDefinition" {
			crds = append(crds, it.id)
		}
	}
	if len(crds) == 0 {
		return nil
	}
	o := e.ssaOptions(ctx, ApplyOptions{})
	if err := rm.WaitForSetWithContext(ctx, crds, ssa.WaitOptions{Interval: o.WaitInterval, Timeout: o.WaitTimeout}); err != nil {
		return err
	}
	return e.waitForKinds(ctx, created, o.WaitInterval)
}

// waitForKinds waits until the client's REST mapper resolves every served version
// of the CRDs among created. The API server marks a CRD Established before
// its discovery documents list the new kind, and for that moment the next
// stage's objects would fail with "no matches for kind".
func (e *Engine) waitForKinds(ctx context.Context, created []*item, interval time.Duration) error {
	for _, it := range created {
		if it.id.GroupKind.Kind != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(it.obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(it.obj.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(it.obj.Object, "spec", "versions")
		for _, v := range versions {
			version, _ := v.(map[string]any)
			name, _ := version["name"].(string)
			if served, _ := version["served"].(bool); !served || name == "" {
				continue
			}
			gk := schema.GroupKind{Group: group, Kind: kind}
			err := wait.PollUntilContextCancel(ctx, interval, true, func(context.Context) (bool, error) {
				_, err := e.client.RESTMapper().RESTMapping(gk, name)
				return err == nil, nil
			})
			if err != nil {
				return &ObjectError{Source: it.source, Subject: it.subject(), Err: fmt.Errorf("kind %s of version %s not served yet: %w", gk, name, err)}
			}
		}
	}
	return nil
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

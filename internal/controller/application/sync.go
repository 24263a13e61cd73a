package application

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/log"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/project"
	"github.com/tether-gitops/tether/internal/render"
)

// syncRun is one attempt of a sync operation.
type syncRun struct {
	r        *Reconciler
	app      *argov1.Application
	eng      *engine.Engine
	cmp      *comparison
	proj     *project.Project // nil permits everything
	dest     *destination
	opts     diff.SyncOptions
	prune    bool
	dryRun   bool
	only     selection // selective sync; nil syncs all
	runHooks bool      // not for a selective sync or syncStrategy.apply
	results  []argov1.ResourceResult
	hooks    []*hookRun
}

// step is one (phase, wave) of a sync.
type step struct {
	phase     argov1.SyncPhase
	wave      int
	resources []*resource
	hooks     []render.Object
	prunes    []*extraneous
}

var phaseOrder = map[argov1.SyncPhase]int{argov1.SyncPhasePreSync: 0, argov1.SyncPhaseSync: 1, argov1.SyncPhasePostSync: 2}

// sync runs op against app: it re-renders when op asks for another
// revision or source, then runs the attempt and records the outcome.
func (r *Reconciler) sync(ctx context.Context, app *argov1.Application, t *target, m *manifests, cmp *comparison, d decision, checkpoint func() error) {
	eng, proj := t.eng, t.proj
	op := d.op
	st := app.Status.OperationState
	if !d.resume || st == nil {
		st = r.startOperation(app, op)
		if err := checkpoint(); err != nil {
			log.FromContext(ctx).Info("cannot record the operation's start", "error", err.Error())
		}
	}
	if op.Sync == nil {
		r.failAttempt(app, st, argov1.OperationError, "operation has no sync: only sync operations are supported")
		return
	}
	if why := r.windowBlocks(t, app, !op.InitiatedBy.Automated); why != "" {
		r.failAttempt(app, st, argov1.OperationError, "Sync operation blocked by sync window: "+why)
		return
	}
	if op.Sync.Source != nil && proj != nil && !proj.PermitsSource(op.Sync.Source.RepoURL) {
		r.failAttempt(app, st, argov1.OperationError, fmt.Sprintf("operation.sync.source: repo %s is not permitted in project '%s'", op.Sync.Source.RepoURL, proj.Name))
		return
	}
	if len(op.Sync.Manifests) > 0 {
		// CVE-2023-50726: manifests that are not in Git bypass review.
		r.failAttempt(app, st, argov1.OperationError, "operation.sync.manifests: local manifests are refused; Tether syncs only what Git holds")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.SyncTimeout)
	defer cancel()
	m, cmp, err := r.syncTarget(ctx, app, t, m, cmp, op.Sync)
	if err != nil {
		r.failAttempt(app, st, argov1.OperationError, err.Error())
		return
	}
	list := op.Sync.SyncOptions
	if app.Spec.SyncPolicy != nil {
		list = append(append([]string{}, list...), app.Spec.SyncPolicy.SyncOptions...)
	}
	opts := diff.NewSyncOptions(list)
	run := &syncRun{r: r, app: app, eng: eng, cmp: cmp, proj: proj, dest: t.dest, opts: opts, prune: op.Sync.Prune, dryRun: op.Sync.DryRun}
	run.only = selection(op.Sync.Resources)
	run.runHooks = len(op.Sync.Resources) == 0 && (op.Sync.SyncStrategy == nil || op.Sync.SyncStrategy.Apply == nil)
	err = run.execute(ctx)
	st.SyncResult = &argov1.SyncOperationResult{Resources: run.results, Revision: m.revision()}
	if srcs := sourcesOf(&app.Spec); op.Sync.Source != nil {
		st.SyncResult.Source = *op.Sync.Source
	} else if len(app.Spec.Sources) > 0 {
		st.SyncResult.Sources, st.SyncResult.Revisions = srcs, m.revisions
	} else if len(srcs) == 1 {
		st.SyncResult.Source = srcs[0]
	}
	if err != nil {
		r.failAttempt(app, st, argov1.OperationFailed, err.Error())
		return
	}
	r.succeed(app, st, op.Sync.DryRun || len(op.Sync.Resources) > 0)
}

// syncTarget renders the revision (or source, for a rollback) that the
// operation names when it differs from what was compared.
func (r *Reconciler) syncTarget(ctx context.Context, app *argov1.Application, t *target, m *manifests, cmp *comparison, op *argov1.SyncOperation) (*manifests, *comparison, error) {
	revs := op.Revisions
	if len(revs) == 0 && op.Revision != "" {
		revs = []string{op.Revision}
	}
	same := op.Source == nil
	for i, rev := range revs {
		if i < len(m.revisions) && rev != m.revisions[i] && !strings.EqualFold(rev, "HEAD") {
			same = false
		}
	}
	if same {
		return m, cmp, nil
	}
	if op.Source != nil && !knownSource(app, op.Source) {
		return nil, nil, errors.New("operation.sync.source: only the app's own source or one from its history (a rollback) may be synced")
	}
	target := app.DeepCopy()
	if op.Source != nil {
		target.Spec.Source, target.Spec.Sources = op.Source.DeepCopy(), nil
	}
	if len(target.Spec.Sources) == 0 && target.Spec.Source != nil && len(revs) > 0 && revs[0] != "" {
		target.Spec.Source.TargetRevision = revs[0]
	}
	for i := range target.Spec.Sources {
		if i < len(revs) && revs[i] != "" {
			target.Spec.Sources[i].TargetRevision = revs[i]
		}
	}
	m2, err := r.render(ctx, target, fetchOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate manifests for revision %s: %w", strings.Join(revs, ", "), err)
	}
	cmp2, err := r.compare(ctx, app, t, m2)
	if err != nil {
		return nil, nil, err
	}
	return m2, cmp2, nil
}

// knownSource reports whether src is the app's source or the source of one
// of its history entries: an operation must not deploy what the reviewed
// spec does not name.
func knownSource(app *argov1.Application, src *argov1.ApplicationSource) bool {
	for _, s := range sourcesOf(&app.Spec) {
		if equality.Semantic.DeepEqual(s, *src) {
			return true
		}
	}
	for _, h := range app.Status.History {
		if equality.Semantic.DeepEqual(h.Source, *src) {
			return true
		}
	}
	return false
}

// execute checks the whole set, then runs the steps in order; after a
// failure it runs the SyncFail hooks.
func (s *syncRun) execute(ctx context.Context) error {
	// As in Argo CD, a failed dry run fails the sync without SyncFail
	// hooks: nothing was written.
	if err := s.preflight(ctx); err != nil {
		return err
	}
	if s.dryRun {
		for _, res := range s.selected() {
			s.result(res.Desired, argov1.ResultCodeSynced, argov1.SyncPhaseSync, string(res.Action)+" (dry run)")
		}
		return nil
	}
	if err := s.createNamespace(ctx); err != nil {
		return err
	}
	steps := s.steps()
	for i, st := range steps {
		if err := s.runStep(ctx, st, i == len(steps)-1); err != nil {
			s.runSyncFail(ctx)
			s.cleanupHooks(ctx)
			return err
		}
	}
	s.cleanupHooks(ctx)
	return nil
}

// preflight fails the sync before any write when an object or hook was
// refused by the dry run, or is shared and the app asks to fail on that.
func (s *syncRun) preflight(ctx context.Context) error {
	errs := append(s.permitted(), s.dryRunHooks(ctx)...)
	for _, res := range s.selected() {
		switch {
		case res.Err != nil:
			s.result(res.Desired, argov1.ResultCodeSyncFailed, argov1.SyncPhaseSync, res.Err.Error())
			errs = append(errs, res.Err.Error())
		case res.shared != "" && s.opts.Has(argov1.SyncOptionFailOnSharedResource):
			msg := fmt.Sprintf("%s/%s is already part of another application %s", res.Desired.GetKind(), res.Desired.GetName(), res.shared)
			s.result(res.Desired, argov1.ResultCodeSyncFailed, argov1.SyncPhaseSync, msg)
			errs = append(errs, "shared resource found: "+msg)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("one or more objects failed to apply, reason: %s", strings.Join(errs, "; "))
	}
	return nil
}

// selected are the resources this sync applies: all, or the ones a
// selective sync names; only the OutOfSync ones with ApplyOutOfSyncOnly.
func (s *syncRun) selected() []*resource {
	var out []*resource
	outOfSyncOnly := s.opts.Has(argov1.SyncOptionApplyOutOfSyncOnly)
	for _, res := range s.cmp.resources {
		gvk := res.Desired.GroupVersionKind()
		if !s.only.has(gvk.Group, gvk.Kind, res.Desired.GetNamespace(), res.Desired.GetName()) {
			continue
		}
		if outOfSyncOnly && res.sync == argov1.SyncStatusCodeSynced {
			continue
		}
		out = append(out, res)
	}
	return out
}

// steps orders resources, hooks and prunes by phase and wave.
func (s *syncRun) steps() []*step {
	byKey := map[[2]int]*step{}
	get := func(phase argov1.SyncPhase, wave int) *step {
		k := [2]int{phaseOrder[phase], wave}
		if byKey[k] == nil {
			byKey[k] = &step{phase: phase, wave: wave}
		}
		return byKey[k]
	}
	for _, res := range s.selected() {
		st := get(argov1.SyncPhaseSync, res.wave)
		st.resources = append(st.resources, res)
	}
	for _, h := range s.runnableHooks() {
		for _, t := range hookTypes(h.Obj) {
			switch t {
			case argov1.HookTypePreSync, argov1.HookTypeSync, argov1.HookTypePostSync:
				st := get(argov1.SyncPhase(t), waveOf(h.Obj))
				st.hooks = append(st.hooks, h)
			}
		}
	}
	pruneLast := s.opts.Has(argov1.SyncOptionPruneLast)
	waves := pruneWaves(s.cmp.extraneous)
	for _, x := range s.cmp.extraneous {
		if !s.only.has(x.ref.Group, x.ref.Kind, x.ref.Namespace, x.ref.Name) {
			continue
		}
		wave := waves[waveOf(x.live)]
		if pruneLast || x.options.Has(argov1.SyncOptionPruneLast) {
			wave = math.MaxInt
		}
		st := get(argov1.SyncPhaseSync, wave)
		st.prunes = append(st.prunes, x)
	}
	out := make([]*step, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if phaseOrder[out[i].phase] != phaseOrder[out[j].phase] {
			return phaseOrder[out[i].phase] < phaseOrder[out[j].phase]
		}
		return out[i].wave < out[j].wave
	})
	return out
}

// pruneWaves maps the waves of left-over objects so that they are deleted
// in the reverse of their creation order: the lowest and highest prune
// waves swap, and so on inwards (gitops-engine's symmetric swap).
func pruneWaves(left []*extraneous) map[int]int {
	seen := map[int]bool{}
	var waves []int
	for _, x := range left {
		if w := waveOf(x.live); !seen[w] {
			seen[w] = true
			waves = append(waves, w)
		}
	}
	sort.Ints(waves)
	out := map[int]int{}
	for i, w := range waves {
		out[w] = waves[len(waves)-1-i]
	}
	return out
}

// runnableHooks are the hooks this sync runs.
func (s *syncRun) runnableHooks() []render.Object {
	if !s.runHooks {
		return nil
	}
	return s.cmp.hooks
}

// selection is the objects a selective sync names; nil names all.
type selection []argov1.SyncOperationResource

// has reports whether the object is selected; a resource without a
// namespace selects the name in any namespace, as in Argo CD.
func (sel selection) has(group, kind, namespace, name string) bool {
	if sel == nil {
		return true
	}
	for _, r := range sel {
		if r.Group == group && r.Kind == kind && r.Name == name && (r.Namespace == "" || r.Namespace == namespace) {
			return true
		}
	}
	return false
}

// runStep applies a step's resources, creates its hooks, prunes, and
// waits for its hooks to complete and, unless it is the last step, for
// its resources to be healthy.
func (s *syncRun) runStep(ctx context.Context, st *step, last bool) error {
	if err := s.apply(ctx, st); err != nil {
		return err
	}
	hooks, err := s.createHooks(ctx, st.hooks, st.phase)
	if err != nil {
		return err
	}
	if err := s.pruneStep(ctx, st); err != nil {
		return err
	}
	var wait []*resource
	if !last {
		wait = st.resources
	}
	return s.waitStep(ctx, wait, hooks)
}

// apply writes a step's resources: server-side apply for most, create or
// replace for those with Replace=true or Validate=false.
func (s *syncRun) apply(ctx context.Context, st *step) error {
	var inputs []engine.Input
	var byID = map[string]*resource{}
	for _, res := range st.resources {
		obj := res.Desired.DeepCopy()
		if s.opts.Override(res.options).Has(argov1.SyncOptionRespectIgnoreDifferences) && res.Live != nil {
			obj = respectIgnored(s.cmp.normalizer, obj, res.Live)
		}
		byID[res.ID] = res
		inputs = append(inputs, inputOf(obj, res.Source, s.opts))
	}
	if len(inputs) == 0 {
		return nil
	}
	opts := s.r.applyOptions(s.app)
	for _, res := range st.resources {
		opts.Compared = append(opts.Compared, res.Comparison)
	}
	result, err := s.eng.Apply(ctx, inputs, opts)
	if result != nil {
		for _, c := range result.ChangeSet {
			if res := byID[c.ID]; res != nil {
				s.result(res.Desired, argov1.ResultCodeSynced, st.phase, subjectOf(res.Desired)+" "+string(c.Action))
				delete(byID, c.ID)
			}
		}
	}
	if err != nil {
		var oe *engine.ObjectError
		for _, res := range byID {
			if errors.As(err, &oe) && oe.Subject != "" && oe.Subject != utils.FmtUnstructured(res.Desired) {
				continue
			}
			s.result(res.Desired, argov1.ResultCodeSyncFailed, st.phase, err.Error())
		}
		return fmt.Errorf("one or more objects failed to apply, reason: %w", err)
	}
	return nil
}

// pruneStep deletes the step's left-over objects when the sync prunes,
// and reports them as PruneSkipped otherwise.
func (s *syncRun) pruneStep(ctx context.Context, st *step) error {
	if len(st.prunes) == 0 {
		return nil
	}
	var old engine.Inventory
	for _, x := range st.prunes {
		if !s.prune {
			s.resultRef(x.ref, argov1.ResultCodePruneSkipped, st.phase, "ignored (requires pruning)")
			continue
		}
		if x.options.Has(argov1.SyncOptionDisablePrune) {
			s.resultRef(x.ref, argov1.ResultCodePruneSkipped, st.phase, "ignored (no prune)")
			continue
		}
		gv := schema.GroupVersion{Group: x.ref.Group, Version: x.ref.Version}
		old = append(old, engine.Entry{ID: statusID(x.ref), Version: gv.Version})
	}
	if len(old) == 0 {
		return nil
	}
	changes, err := s.eng.Prune(ctx, old, nil, engine.PruneOptions{AllowEmpty: true,
		Propagation: prunePropagation(s.opts), Exclusions: map[string]string{argov1.AnnotationSyncOptions: argov1.SyncOptionDisablePrune}})
	done := map[string]engine.Action{}
	for _, c := range changes {
		done[c.ID] = c.Action
	}
	for _, x := range st.prunes {
		id := statusID(x.ref)
		switch done[id] {
		case engine.ActionDeleted:
			s.resultRef(x.ref, argov1.ResultCodePruned, st.phase, "pruned")
		case engine.ActionSkipped:
			s.resultRef(x.ref, argov1.ResultCodePruneSkipped, st.phase, "ignored (no prune)")
		}
	}
	if err != nil {
		return fmt.Errorf("prune failed: %w", err)
	}
	return nil
}

// result records the outcome for one object.
func (s *syncRun) result(obj *unstructured.Unstructured, code argov1.ResultCode, phase argov1.SyncPhase, msg string) {
	gvk := obj.GroupVersionKind()
	s.results = append(s.results, argov1.ResourceResult{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), Status: code, Message: msg, SyncPhase: phase})
}

func (s *syncRun) resultRef(ref argov1.ResourceStatus, code argov1.ResultCode, phase argov1.SyncPhase, msg string) {
	s.results = append(s.results, argov1.ResourceResult{Group: ref.Group, Version: ref.Version, Kind: ref.Kind,
		Namespace: ref.Namespace, Name: ref.Name, Status: code, Message: msg, SyncPhase: phase})
}

// subjectOf is kubectl's "<kind>.<group>/<name>" for messages.
func subjectOf(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + obj.GetName()
}

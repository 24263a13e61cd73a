package application

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/health"
	"github.com/tether-gitops/tether/internal/livecache"
	"github.com/tether-gitops/tether/internal/project"
	"github.com/tether-gitops/tether/internal/render"
)

// syncRun is one attempt of a sync operation.
type syncRun struct {
	r      *Reconciler
	app    *argov1.Application
	eng    *engine.Engine
	cmp    *comparison
	proj   *project.Project // nil permits everything
	dest   *destination
	opts   diff.SyncOptions
	prune  bool
	dryRun bool
	// automated is set for an automated sync: it never takes an object
	// that another existing app tracks (two apps would take it in turns).
	automated bool
	only      selection // selective sync; nil syncs all
	runHooks  bool      // not for a selective sync or syncStrategy.apply
	results   []argov1.ResourceResult
	// live is the destination's live cache (nil without one); reader
	// reads health through it.
	live        *livecache.Cache
	reader      client.Reader
	hooks       map[*enginesync.Task]*hookRun // created hooks
	hookResults map[hookKey]int               // index in results
	// terminated reports whether a user terminated the operation: no
	// write starts after that, SyncFail hooks included, and hooks are
	// left as they are.
	terminated func() bool
	// st is the operation's state; checkpoint writes it (save).
	st         *argov1.OperationState
	checkpoint func() error
	// takenOver is set when another writer changed the operation state
	// since this attempt wrote it: as with a termination, no write starts
	// after that.
	takenOver atomic.Bool
}

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
	opCtx := ctx
	terminated := func() bool { return terminatedBy(opCtx) }
	// fail ends the attempt, or the operation when it was terminated: a
	// terminated operation is never retried.
	fail := func(phase argov1.OperationPhase, msg string) {
		if terminated() {
			r.terminated(app, st)
			return
		}
		r.failAttempt(app, st, phase, msg)
	}
	if op.Sync == nil {
		fail(argov1.OperationError, "operation has no sync: only sync operations are supported")
		return
	}
	if why := r.windowBlocks(t, app, !op.InitiatedBy.Automated); why != "" {
		fail(argov1.OperationError, "Sync operation blocked by sync window: "+why)
		return
	}
	if op.Sync.Source != nil && proj != nil && !proj.PermitsSource(op.Sync.Source.RepoURL) {
		fail(argov1.OperationError, fmt.Sprintf("operation.sync.source: repo %s is not permitted in project '%s'", op.Sync.Source.RepoURL, proj.Name))
		return
	}
	if len(op.Sync.Manifests) > 0 {
		// CVE-2023-50726: manifests that are not in Git bypass review.
		fail(argov1.OperationError, "operation.sync.manifests: local manifests are refused; Tether syncs only what Git holds")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.SyncTimeout)
	defer cancel()
	m, cmp, err := r.syncTarget(ctx, app, t, m, cmp, op.Sync)
	if err != nil {
		fail(argov1.OperationError, err.Error())
		return
	}
	list := op.Sync.SyncOptions
	if app.Spec.SyncPolicy != nil {
		list = append(append([]string{}, list...), app.Spec.SyncPolicy.SyncOptions...)
	}
	opts := diff.NewSyncOptions(list)
	run := &syncRun{r: r, app: app, eng: eng, cmp: cmp, proj: proj, dest: t.dest, opts: opts, prune: op.Sync.Prune, dryRun: op.Sync.DryRun,
		reader: t.dest.reader, hooks: map[*enginesync.Task]*hookRun{}, hookResults: map[hookKey]int{}, terminated: terminated,
		st: st, checkpoint: checkpoint, automated: op.InitiatedBy.Automated}
	if _, live, err := r.clusterWatch(t.dest); err == nil && live != nil {
		run.live, run.reader = live, live.Reader(t.dest.reader)
	}
	run.only = selection(op.Sync.Resources)
	run.runHooks = len(op.Sync.Resources) == 0 && (op.Sync.SyncStrategy == nil || op.Sync.SyncStrategy.Apply == nil)
	var resume enginesync.Resume
	result := syncResultOf(app, op.Sync, m.revision(), m.revisions)
	if resumable(d, st, result) {
		resume = run.resumeFrom(st.SyncResult.Resources)
		log.FromContext(ctx).Info("resuming an interrupted sync", "revision", m.revision(), "recorded", len(st.SyncResult.Resources))
	}
	st.SyncResult = result
	err = run.execute(ctx, resume)
	st.SyncResult.Resources = run.results
	if run.takenOver.Load() {
		// The new owner records the outcome; nothing is written here.
		log.FromContext(ctx).Info("stopped: another replica took the operation over")
		return
	}
	if err != nil {
		fail(argov1.OperationFailed, err.Error())
		return
	}
	r.succeed(app, st, op.Sync.DryRun || len(op.Sync.Resources) > 0)
}

// syncResultOf is the result of a sync of op at revision (revisions for
// several sources), without its resources.
func syncResultOf(app *argov1.Application, op *argov1.SyncOperation, revision string, revisions []string) *argov1.SyncOperationResult {
	res := &argov1.SyncOperationResult{Revision: revision}
	if srcs := app.Spec.GetSources(); op.Source != nil {
		res.Source = *op.Source
	} else if len(app.Spec.Sources) > 0 {
		res.Sources, res.Revisions = srcs, revisions
	} else if len(srcs) == 1 {
		res.Source = srcs[0]
	}
	return res
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
	for _, s := range app.Spec.GetSources() {
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

// execute checks the whole set, then plans the sync and runs it on the
// engine's sync runner (engine/sync), which walks phases and waves, waits
// on the live cache's change notices and runs the SyncFail hooks after a
// failure; this adapter turns its events into Argo CD's resource results.
func (s *syncRun) execute(ctx context.Context, resume enginesync.Resume) error {
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
	steps, onFail := enginesync.Plan(s.tasks(), enginesync.PlanOptions{PruneLast: s.opts.Has(argov1.SyncOptionPruneLast)})
	opts := enginesync.RunOptions{App: appName(s.app), Sink: s.record, Now: s.r.Now, Resume: resume}
	if s.live != nil {
		opts.Changes = s.live.Changes
	}
	return enginesync.Run(ctx, steps, onFail, s, opts)
}

// appName names an app in progress events.
func appName(app *argov1.Application) string {
	return "Application/" + app.Namespace + "/" + app.Name
}

// tasks are the sync's objects, hooks and left-over objects as tasks of
// the engine's plan.
func (s *syncRun) tasks() []*enginesync.Task {
	var out []*enginesync.Task
	for _, res := range s.selected() {
		out = append(out, &enginesync.Task{Kind: enginesync.TaskApply, Phase: enginesync.PhaseSync, Wave: res.wave,
			Object: syncRefOf(res.Desired), Payload: res})
	}
	for _, h := range s.runnableHooks() {
		for _, t := range hookTypes(h.Obj) {
			switch t {
			case argov1.HookTypePreSync, argov1.HookTypeSync, argov1.HookTypePostSync, argov1.HookTypeSyncFail:
				ref := syncRefOf(h.Obj)
				if obj, err := s.hookObject(h); err == nil {
					ref.Namespace = obj.GetNamespace() // as it will be created
				}
				out = append(out, &enginesync.Task{Kind: enginesync.TaskHook, Phase: enginesync.Phase(t), Wave: waveOf(h.Obj),
					Object: ref, Payload: h})
			}
		}
	}
	for _, x := range s.cmp.extraneous {
		if !s.only.has(x.ref.Group, x.ref.Kind, x.ref.Namespace, x.ref.Name) {
			continue
		}
		out = append(out, &enginesync.Task{Kind: enginesync.TaskPrune, Phase: enginesync.PhaseSync, Wave: waveOf(x.live),
			PruneLast: x.options.Has(argov1.SyncOptionPruneLast), Payload: x,
			Object: enginesync.Ref{Group: x.ref.Group, Version: x.ref.Version, Kind: x.ref.Kind, Namespace: x.ref.Namespace, Name: x.ref.Name}})
	}
	return out
}

// syncRefOf names obj for the engine's plan.
func syncRefOf(obj *unstructured.Unstructured) enginesync.Ref {
	gvk := obj.GroupVersionKind()
	return enginesync.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
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
		case res.shared != "" && (s.opts.Has(argov1.SyncOptionFailOnSharedResource) || (s.automated && s.appExists(ctx, res.shared))):
			msg := fmt.Sprintf("%s/%s is already part of another application %s", res.Desired.GetKind(), res.Desired.GetName(), res.shared)
			if !s.opts.Has(argov1.SyncOptionFailOnSharedResource) {
				msg += " (an automated sync never takes it over; a manual sync does)"
			}
			s.result(res.Desired, argov1.ResultCodeSyncFailed, argov1.SyncPhaseSync, msg)
			errs = append(errs, "shared resource found: "+msg)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("one or more objects failed to apply, reason: %s", strings.Join(errs, "; "))
	}
	return nil
}

// appExists reports whether the app of tracking id exists; an object
// left tracked by a deleted app may be adopted. When in doubt (a read
// error), it exists.
func (s *syncRun) appExists(ctx context.Context, id string) bool {
	err := s.r.Client.Get(ctx, parseAppID(id, s.r.ControlPlaneNamespace), &argov1.Application{})
	return !apierrors.IsNotFound(err)
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

// Apply writes a step's resources: server-side apply for most, create or
// replace for those with Replace=true or Validate=false.
func (s *syncRun) Apply(ctx context.Context, st *enginesync.Step, tasks []*enginesync.Task, report enginesync.Report) error {
	if err := s.stopped(); err != nil {
		return err
	}
	var inputs []engine.Input
	byID := map[string]*enginesync.Task{}
	opts := s.r.applyOptions(s.app)
	for _, t := range tasks {
		res := t.Payload.(*resource)
		obj := res.Desired.DeepCopy()
		if s.opts.Override(res.options).Has(argov1.SyncOptionRespectIgnoreDifferences) && res.Live != nil {
			obj = respectIgnored(s.cmp.normalizer, obj, res.Live)
		}
		byID[res.ID] = t
		inputs = append(inputs, inputOf(obj, res.Source, s.opts))
		opts.Compared = append(opts.Compared, res.Comparison)
	}
	result, err := s.eng.Apply(ctx, inputs, opts)
	defer s.save()
	if result != nil {
		for _, c := range result.ChangeSet {
			if t := byID[c.ID]; t != nil {
				report(t, enginesync.ActionApply, enginesync.ResultSucceeded, subjectOf(t.Payload.(*resource).Desired)+" "+string(c.Action))
				delete(byID, c.ID)
			}
		}
	}
	if err != nil {
		var oe *engine.ObjectError
		for _, t := range byID {
			if errors.As(err, &oe) && oe.Subject != "" && oe.Subject != utils.FmtUnstructured(t.Payload.(*resource).Desired) {
				continue
			}
			report(t, enginesync.ActionApply, enginesync.ResultFailed, err.Error())
		}
		return fmt.Errorf("one or more objects failed to apply, reason: %w", err)
	}
	return nil
}

// Prune deletes the step's left-over objects when the sync prunes, and
// reports them skipped otherwise.
func (s *syncRun) Prune(ctx context.Context, st *enginesync.Step, tasks []*enginesync.Task, report enginesync.Report) error {
	if err := s.stopped(); err != nil {
		return err
	}
	var old engine.Inventory
	byID := map[string]*enginesync.Task{}
	for _, t := range tasks {
		x := t.Payload.(*extraneous)
		if !s.prune {
			report(t, enginesync.ActionPrune, enginesync.ResultSkipped, "ignored (requires pruning)")
			continue
		}
		if x.options.Has(argov1.SyncOptionDisablePrune) {
			report(t, enginesync.ActionPrune, enginesync.ResultSkipped, "ignored (no prune)")
			continue
		}
		byID[t.Object.ID()] = t
		old = append(old, engine.Entry{ID: t.Object.ID(), Version: t.Object.Version})
	}
	if len(old) == 0 {
		return nil
	}
	defer s.save()
	changes, err := s.eng.Prune(ctx, old, nil, engine.PruneOptions{AllowEmpty: true,
		Propagation: prunePropagation(s.opts), Exclusions: map[string]string{argov1.AnnotationSyncOptions: argov1.SyncOptionDisablePrune}})
	for _, c := range changes {
		switch t := byID[c.ID]; {
		case t == nil:
		case c.Action == engine.ActionDeleted:
			report(t, enginesync.ActionPrune, enginesync.ResultSucceeded, "pruned")
		case c.Action == engine.ActionSkipped:
			report(t, enginesync.ActionPrune, enginesync.ResultSkipped, "ignored (no prune)")
		}
	}
	if err != nil {
		return fmt.Errorf("prune failed: %w", err)
	}
	return nil
}

// stopped refuses to start a step of an operation that was terminated:
// the runner may reach the next wave in the moment the termination comes.
func (s *syncRun) stopped() error {
	if s.terminated != nil && s.terminated() {
		return errTerminated
	}
	if s.takenOver.Load() {
		return errTakenOver
	}
	if !s.r.owns(s.app) {
		// The app moved to another replica (--shards), which resumes
		// the operation from what was recorded.
		s.takenOver.Store(true)
		return errTakenOver
	}
	return nil
}

// Health reads the live health of a task's object: from the live cache
// when the cluster has one, by Argo CD's rules and the Lua scripts of
// argocd-cm.
func (s *syncRun) Health(ctx context.Context, t *enginesync.Task) (*health.Result, error) {
	var obj *unstructured.Unstructured
	switch p := t.Payload.(type) {
	case *resource:
		obj = p.Desired
	default:
		h := s.hooks[t]
		if h == nil {
			return nil, fmt.Errorf("hook %s was never created", t.Object)
		}
		obj = h.obj
	}
	live, err := readLive(ctx, s.reader, obj)
	if err != nil {
		return nil, err
	}
	hs := healthOf(ctx, s.cmp.scripts, live) // Missing when live is nil
	if hs == nil {
		return nil, nil
	}
	return &health.Result{Status: health.Status(hs.Status), Message: hs.Message}, nil
}

// record turns the runner's events into Argo CD's resource results, and
// hands them on to the progress hub.
func (s *syncRun) record(e enginesync.Event) {
	if e.Object == nil && e.Action == enginesync.ActionSync && e.Result == enginesync.ResultFailed && s.stopped() != nil {
		e.Message = operationTerminated // not the wait that the termination cut short
	}
	s.r.Progress.Publish(e)
	if e.Object == nil {
		if e.Action == enginesync.ActionStep && e.Result == enginesync.ResultRunning {
			s.save() // what earlier steps did, their waits included
		}
		return
	}
	ref, phase := *e.Object, argov1.SyncPhase(e.Phase)
	key := hookKey{ref: ref, phase: phase}
	add := func(code argov1.ResultCode) *argov1.ResourceResult {
		s.results = append(s.results, argov1.ResourceResult{Group: ref.Group, Version: ref.Version, Kind: ref.Kind,
			Namespace: ref.Namespace, Name: ref.Name, Status: code, Message: e.Message, SyncPhase: phase})
		return &s.results[len(s.results)-1]
	}
	switch e.Action {
	case enginesync.ActionApply:
		code := argov1.ResultCodeSynced
		if e.Result == enginesync.ResultFailed {
			code = argov1.ResultCodeSyncFailed
		}
		add(code)
	case enginesync.ActionPrune:
		switch e.Result {
		case enginesync.ResultSucceeded:
			add(argov1.ResultCodePruned)
		case enginesync.ResultSkipped:
			add(argov1.ResultCodePruneSkipped)
		default:
			add(argov1.ResultCodeSyncFailed)
		}
	case enginesync.ActionHook:
		i, ok := s.hookResults[key]
		switch {
		case e.Result == enginesync.ResultRunning:
			res := add(argov1.ResultCodeSynced)
			res.HookType, res.HookPhase = argov1.HookType(phase), argov1.OperationRunning
			s.hookResults[key] = len(s.results) - 1
		case !ok: // refused before it was created
			res := add(argov1.ResultCodeSyncFailed)
			res.HookType, res.HookPhase = argov1.HookType(phase), argov1.OperationFailed
		case e.Result == enginesync.ResultSucceeded:
			s.results[i].HookPhase = argov1.OperationSucceeded
			if e.Message != "" {
				s.results[i].Message = e.Message
			}
		default:
			s.results[i].HookPhase, s.results[i].Status, s.results[i].Message = argov1.OperationFailed, argov1.ResultCodeSyncFailed, e.Message
		}
		s.save() // a hook created or ended is never created again
	}
}

// hookKey finds a hook's result: a hook with several types runs once per
// phase.
type hookKey struct {
	ref   enginesync.Ref
	phase argov1.SyncPhase
}

// result records the outcome for one object.
func (s *syncRun) result(obj *unstructured.Unstructured, code argov1.ResultCode, phase argov1.SyncPhase, msg string) {
	gvk := obj.GroupVersionKind()
	s.results = append(s.results, argov1.ResourceResult{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), Status: code, Message: msg, SyncPhase: phase})
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

package application

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/controller/drift"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/livecache"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/secretset"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/git"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// FieldManager is the server-side apply field manager of Application
// syncs: Argo CD's own, so that objects an Argo CD installation applied are
// taken over field by field, without conflicts, when a team moves to Tether.
const FieldManager = "argocd-controller"

// Defaults.
const (
	// DefaultResyncPeriod is how often an app is compared with Git without
	// any event, Argo CD's timeout.reconciliation.
	DefaultResyncPeriod = 3 * time.Minute
	// DefaultControlPlaneNamespace is where Argo CD's Applications live.
	DefaultControlPlaneNamespace = "argocd"
	// DefaultSyncTimeout bounds one sync attempt, waits for waves and
	// hooks included.
	DefaultSyncTimeout = 10 * time.Minute
	// applyConcurrency is how many objects of one app are dry-run or
	// applied at once.
	applyConcurrency = 8
)

// EventRecorder records Kubernetes events about an object.
type EventRecorder = lifecycle.EventRecorder

// Reconciler reconciles argoproj.io/v1alpha1 Applications.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// ShardByCluster keys apps by their destination cluster, so that all
	// apps of one cluster are reconciled by one replica, as Argo CD's
	// sharding does (set when argocd-cmd-params-cm names a
	// controller.sharding.algorithm).
	ShardByCluster bool
	// Client reads and writes through the manager's cache.
	Client client.Client
	// APIReader reads around the cache (live objects for health).
	APIReader client.Reader
	// Fetcher resolves and checks out Git sources (shared with
	// GitRepositories).
	Fetcher *git.Fetcher
	// Renderer renders checked-out sources.
	Renderer *render.Renderer
	// Helm reads Helm repositories and registries for Helm sources.
	Helm *helm.Client
	// OCI reads oci:// sources; nil refuses them.
	OCI *oci.Client
	// Events records Kubernetes events; may be nil.
	Events EventRecorder
	// Concurrency is how many Applications reconcile at once.
	Concurrency int
	// ResyncPeriod is the compare interval without events
	// (DefaultResyncPeriod when 0).
	ResyncPeriod time.Duration
	// SyncTimeout bounds one sync attempt (DefaultSyncTimeout when 0).
	SyncTimeout time.Duration
	// OperationProcessors is how many syncs run at once, apart from the
	// Concurrency workers that compare apps (DefaultOperationProcessors
	// when 0).
	OperationProcessors int
	// ControlPlaneNamespace names apps in tracking annotations
	// (DefaultControlPlaneNamespace when empty).
	ControlPlaneNamespace string
	// Clusters says what cluster Secrets may do (run credential plugins)
	// and the request budget of their clients.
	Clusters cluster.Options
	// AppNamespaces are other namespaces (globs, as in Argo CD's
	// --application-namespaces) whose Applications are reconciled; by
	// default only those in ControlPlaneNamespace are.
	AppNamespaces []string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Live, when set, is the live cache of the local cluster: compares
	// read from it and drift watches share its informers. Each
	// registered cluster then gets a live cache of its own.
	Live *livecache.Cache
	// Progress receives every sync's progress events (engine/sync), for
	// the API to stream; may be nil.
	Progress *enginesync.Hub

	watcher  *drift.Watcher
	clusters cluster.Clients
	registry *cluster.Registry // cluster Secrets, listed only when they change
	// repository and repo-creds Secrets, listed only when they change
	repoSecrets, repoCreds *secretset.Set
	mgr                    ctrl.Manager
	ctrl                   controller.Controller
	remotes                cluster.Versioned[*remoteWatch] // per registered cluster (Secret), replaced when it changes
	mu                     sync.Mutex
	heals                  map[types.NamespacedName]healRecord // self-heals in a row per app
	wrote                  map[types.NamespacedName]string     // resource version of this controller's last write, until the cache shows it
	liveSeq                map[types.NamespacedName]uint64     // changes the watches saw to each app's objects
	quietMemos             map[types.NamespacedName]quietMemo  // what each app's last full comparison saw (quiet.go)
	ops                    *operations                         // syncs in flight; nil runs them inline

	helmIndexes  indexCache      // Helm repository indexes, by URL and credential
	helmCharts   chartBytes      // chart archives, by URL, chart, version and credential
	ociResolved  ociResolutions  // recent digests of OCI sources' references
	ociDirs      ociDirCache     // unpacked OCI artifacts, by digest and credential
	capabilities capabilityCache // destination clusters' versions and APIs, for helm template
	luaHealth    healthScriptCache
	// Metrics, when set, counts reconciles and ended syncs (nil: none).
	Metrics *metrics.Recorder
}

// SetupWithManager registers the controller and its watches of the
// objects that Applications track.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.ResyncPeriod <= 0 {
		r.ResyncPeriod = DefaultResyncPeriod
	}
	if r.SyncTimeout <= 0 {
		r.SyncTimeout = DefaultSyncTimeout
	}
	if r.ControlPlaneNamespace == "" {
		r.ControlPlaneNamespace = DefaultControlPlaneNamespace
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.heals = map[types.NamespacedName]healRecord{}
	r.wrote = map[types.NamespacedName]string{}
	r.liveSeq, r.quietMemos = map[types.NamespacedName]uint64{}, map[types.NamespacedName]quietMemo{}
	r.ops = newOperations(r.OperationProcessors)
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &argov1.Application{}, projectIndex,
		func(o client.Object) []string { return []string{o.(*argov1.Application).Spec.Project} })
	if err != nil {
		return fmt.Errorf("index Applications by project: %w", err)
	}
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Application{}, builder.WithPredicates(predicate.NewPredicateFuncs(r.served), predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, operationSet{}, terminationRequested{}))).
		Watches(&argov1.AppProject{}, handler.EnqueueRequestsFromMapFunc(r.appsOfProject)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("application").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &argov1.ApplicationList{})).
		Build(r)
	if err != nil {
		return err
	}
	if err := mgr.Add(defaultProject{client: mgr.GetClient(), namespace: r.ControlPlaneNamespace}); err != nil {
		return err
	}
	// The unpacked OCI artifacts go when the process stops.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return r.ociDirs.close()
	})); err != nil {
		return err
	}
	if err := r.watchSecrets(mgr, c); err != nil {
		return err
	}
	if err := c.Watch(r.ops.source()); err != nil {
		return err
	}
	if err := r.watchRepositories(c); err != nil {
		return err
	}
	r.mgr, r.ctrl = mgr, c
	r.remotes.Close = func(w *remoteWatch) { w.stop() }
	local := drift.Options{Owner: r.ownerOf, StatusChanges: true, OnEvent: r.liveChanged}
	if r.Live != nil {
		local.Cache = r.Live.Informers()
	}
	r.watcher, err = drift.New(mgr, c, local)
	return err
}

// appsOfProject wakes the apps of a changed AppProject.
func (r *Reconciler) appsOfProject(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != r.ControlPlaneNamespace {
		return nil
	}
	var apps argov1.ApplicationList
	if err := r.Client.List(ctx, &apps, client.MatchingFields{projectIndex: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(apps.Items))
	for _, a := range apps.Items {
		out = append(out, reconcile.Request{NamespacedName: keyOf(&a)})
	}
	return out
}

// served reports whether Applications in o's namespace are this
// controller's: the control-plane namespace and AppNamespaces. Anyone who
// may create an Application elsewhere would otherwise deploy with
// Tether's rights.
func (r *Reconciler) served(o client.Object) bool {
	ns := o.GetNamespace()
	if ns == r.ControlPlaneNamespace {
		return true
	}
	for _, glob := range r.AppNamespaces {
		if ok, _ := path.Match(glob, ns); ok {
			return true
		}
	}
	return false
}

// operationSet lets through updates that set the top-level operation field
// (the argocd CLI's sync), which does not change the generation.
type operationSet struct{ predicate.Funcs }

// Update reports whether the new object has an operation the old had not.
func (operationSet) Update(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*argov1.Application)
	n, ok2 := e.ObjectNew.(*argov1.Application)
	return ok1 && ok2 && n.Operation != nil && !equality.Semantic.DeepEqual(o.Operation, n.Operation)
}

// terminationRequested lets through the status-only update that asks for
// an operation's termination (phase Terminating, as the API and `argocd
// app terminate-op` write it), which changes neither the generation nor
// an annotation.
type terminationRequested struct{ predicate.Funcs }

// Update reports whether the new object is Terminating and the old was not.
func (terminationRequested) Update(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*argov1.Application)
	n, ok2 := e.ObjectNew.(*argov1.Application)
	return ok1 && ok2 && terminating(n) && !terminating(o)
}

// ownerOf maps a tracked object to its Application.
func (r *Reconciler) ownerOf(o client.Object) (types.NamespacedName, bool) {
	gk := o.GetObjectKind().GroupVersionKind().GroupKind()
	app, self := trackedBy(o, gk)
	if app == "" || !self {
		return types.NamespacedName{}, false
	}
	return parseAppID(app, r.ControlPlaneNamespace), true
}

func keyOf(app *argov1.Application) types.NamespacedName {
	return types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// owns reports whether this replica reconciles app (--shards).
func (r *Reconciler) owns(app *argov1.Application) bool {
	if r.Shard == nil {
		return true
	}
	if r.ShardByCluster {
		d := app.Spec.Destination
		return r.Shard.Owns("cluster/" + d.Server + "/" + d.Name)
	}
	return r.Shard.Owns(shard.KeyOf("Application", app))
}

// Reconcile compares one Application with Git and the cluster, runs its
// pending or automated sync, and writes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if r.ops != nil {
		defer r.ops.offer()
	}
	app := &argov1.Application{}
	if err := r.readApp(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) && r.ops != nil {
			r.ops.cancel(req.NamespacedName)
		}
		r.forget(req.NamespacedName)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.served(app) || !r.owns(app) {
		return ctrl.Result{}, nil
	}
	defer func(start time.Time) { r.Metrics.AppReconciled(app, time.Since(start)) }(time.Now())
	ctx = metrics.WithApp(ctx, app)
	if r.ops != nil && r.ops.busy(req.NamespacedName) {
		// The running operation writes the status and queues the app
		// when it ends; a deletion or a termination stops it first.
		switch {
		case !app.DeletionTimestamp.IsZero():
			r.ops.cancel(req.NamespacedName)
		case terminating(app):
			r.ops.terminate(req.NamespacedName)
		}
		return ctrl.Result{}, nil
	}
	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, app)
	}
	w := r.statusWriter(app)
	checkpoint := func() error { return w.write(ctx) }
	requeue, err := r.reconcile(ctx, app, checkpoint)
	if perr := checkpoint(); perr != nil {
		return ctrl.Result{}, perr
	}
	if err != nil {
		log.FromContext(ctx).Info("reconcile failed", "error", err.Error())
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// readApp reads an app from the manager's cache when that is safe, else
// from the API server. The cache is not trusted for an app with an
// operation to start or running, nor until it shows this controller's
// last write to the app: a status written moments ago (an operation
// Running or just finished) must not come back stale and run twice.
func (r *Reconciler) readApp(ctx context.Context, key types.NamespacedName, app *argov1.Application) error {
	if err := r.Client.Get(ctx, key, app); err == nil && r.cacheCurrent(key, app) {
		return nil
	}
	if err := r.APIReader.Get(ctx, key, app); err != nil {
		return err
	}
	// Someone may have written after this controller did: wait for the
	// cache to show what the server showed now.
	r.mu.Lock()
	if _, ok := r.wrote[key]; ok {
		r.wrote[key] = app.ResourceVersion
	}
	r.mu.Unlock()
	return nil
}

// cacheCurrent reports whether app, read from the cache, may be used.
func (r *Reconciler) cacheCurrent(key types.NamespacedName, app *argov1.Application) bool {
	if app.Operation != nil || (app.Status.OperationState != nil && app.Status.OperationState.Phase == argov1.OperationRunning) ||
		terminating(app) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rv, ok := r.wrote[key]
	switch {
	case !ok:
		return true
	case rv == app.ResourceVersion:
		delete(r.wrote, key) // the cache has caught up
		return true
	}
	return false
}

// wroteApp records this controller's write of app (the server's answer).
func (r *Reconciler) wroteApp(app *argov1.Application) {
	if app.ResourceVersion == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wrote != nil {
		r.wrote[keyOf(app)] = app.ResourceVersion
	}
}

// statusWriter writes what changed in app since its last write (or since
// it was made), so that a long sync shows as Running while it runs and its
// end is recorded.
type statusWriter struct {
	r           *Reconciler
	app, before *argov1.Application
}

func (r *Reconciler) statusWriter(app *argov1.Application) *statusWriter {
	return &statusWriter{r: r, app: app, before: app.DeepCopy()}
}

func (w *statusWriter) write(ctx context.Context) error {
	wrote, err := w.r.persist(ctx, w.before, w.app)
	if err != nil {
		return err
	}
	if wrote {
		// Nothing written leaves before as it was: equal to app in all
		// that persist compares, so no new copy is needed.
		w.before = w.app.DeepCopy()
	}
	return nil
}

// persist writes what reconcile changed: first the status, then, when a
// sync took the operation or a refresh request was handled, the object
// itself, guarded by its resource version; on a conflict it reads the app
// again and clears only what is still the request it handled, so a newer
// request written meanwhile is never lost.
func (r *Reconciler) persist(ctx context.Context, before, app *argov1.Application) (wrote bool, err error) {
	// reflect.DeepEqual first: most refreshes change nothing, and it is
	// several times cheaper than the semantic comparison, which only
	// differs on quantities and times written differently.
	if !reflect.DeepEqual(before.Status, app.Status) && !equality.Semantic.DeepEqual(before.Status, app.Status) {
		// A copy is patched: the sync holds pointers into app's status.
		// The write is guarded by before's version: a replica that lost
		// its lease never overwrites what the new leader recorded.
		written := app.DeepCopy()
		if err := lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, written); err != nil {
			return false, err
		}
		r.wroteApp(written)
		// The next write is guarded by this one's version.
		app.ResourceVersion = written.ResourceVersion
		wrote = true
	}
	refresh, hadRefresh := before.Annotations[argov1.AnnotationKeyRefresh]
	_, hasRefresh := app.Annotations[argov1.AnnotationKeyRefresh]
	took := before.Operation
	if app.Operation != nil {
		took = nil
	}
	if (!hadRefresh || hasRefresh) && took == nil {
		return wrote, nil
	}
	// From here on before is taken as handled, written or not.
	cur := before.DeepCopy()
	for range 3 {
		patch := map[string]any{"metadata": map[string]any{"resourceVersion": cur.ResourceVersion}}
		if v, ok := cur.Annotations[argov1.AnnotationKeyRefresh]; hadRefresh && !hasRefresh && ok && v == refresh {
			patch["metadata"].(map[string]any)["annotations"] = map[string]any{argov1.AnnotationKeyRefresh: nil}
		}
		if took != nil && equality.Semantic.DeepEqual(cur.Operation, took) {
			patch["operation"] = nil
		}
		if len(patch) == 1 && len(patch["metadata"].(map[string]any)) == 1 {
			return true, nil // a newer request replaced what was handled
		}
		body, err := json.Marshal(patch)
		if err != nil {
			return true, err
		}
		written := cur.DeepCopy()
		err = r.Client.Patch(ctx, written, client.RawPatch(types.MergePatchType, body))
		if err == nil {
			r.wroteApp(written)
		}
		if !apierrors.IsConflict(err) {
			if err != nil && !apierrors.IsNotFound(err) {
				return true, fmt.Errorf("clear operation of %s/%s: %w", app.Namespace, app.Name, err)
			}
			return true, nil
		}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(app), cur); err != nil {
			return true, client.IgnoreNotFound(err)
		}
	}
	return true, fmt.Errorf("clear operation of %s/%s: the app keeps changing", app.Namespace, app.Name)
}

// reconcile refreshes the app and runs a sync when one is due. It returns
// when to look again.
func (r *Reconciler) reconcile(ctx context.Context, app *argov1.Application, checkpoint func() error) (time.Duration, error) {
	refresh, hasRefresh := app.Annotations[argov1.AnnotationKeyRefresh]
	if hasRefresh {
		delete(app.Annotations, argov1.AnnotationKeyRefresh)
	}
	if terminating(app) {
		// No operation of this app runs here (a restart, or a retry
		// waiting for its backoff or a processor): it ends without
		// running anything more.
		r.terminated(app, app.Status.OperationState)
	}
	t, err := r.validate(ctx, app)
	if err != nil {
		setCondition(app, argov1.ApplicationConditionInvalidSpecError, err.Error(), r.now())
		app.Status.Sync.Status = argov1.SyncStatusCodeUnknown
		r.failOperation(app, err)
		return r.ResyncPeriod, err
	}
	clearCondition(app, argov1.ApplicationConditionInvalidSpecError)
	if err := t.dest.check(ctx); err != nil {
		r.event(app, corev1.EventTypeWarning, "ClusterConnectionFailed", err.Error())
		r.failOperation(app, r.comparisonFailed(app, err))
		return min(r.ResyncPeriod, time.Minute), err
	}
	quietKey, canQuiet := r.quietKey(ctx, app, t, hasRefresh)
	if canQuiet && r.quiet(keyOf(app), quietKey) {
		log.FromContext(ctx).V(1).Info("unchanged since the last comparison")
		return r.requeueAfter(app), nil
	}
	m, cmp, err := r.refresh(ctx, app, t, fetchOptions{refresh: hasRefresh, hard: refresh == "hard"})
	if hasRefresh {
		now := metav1.NewTime(r.now())
		app.Status.ReconciledAt = &now
	}
	if err != nil {
		r.failOperation(app, err)
		return min(r.requeueAfter(app), time.Minute), err
	}
	d := r.nextOperation(app, cmp, t)
	if d.why != "" {
		setCondition(app, argov1.ApplicationConditionSyncError, d.why, r.now())
	} else {
		clearCondition(app, argov1.ApplicationConditionSyncError)
	}
	if d.op == nil {
		if d.why == "" && d.wait == 0 && cmp.watchedBefore {
			r.rememberQuiet(app, quietKey)
		} else {
			r.rememberQuiet(app, "")
		}
		if d.wait > 0 {
			return min(d.wait, r.requeueAfter(app)), nil
		}
		return r.requeueAfter(app), nil
	}
	app.Operation = nil
	if r.ops == nil {
		r.sync(ctx, app, t, m, cmp, d, checkpoint)
		rememberApplied(app)
		_, _, _ = r.refresh(ctx, app, t, fetchOptions{})
		return r.requeueAfter(app), nil
	}
	// The operation is recorded as Running (and the operation field
	// cleared) before the worker is released, so no other reconcile
	// starts it again; the sync then runs on the operation pool.
	// A processor is taken before anything is recorded: an operation never
	// waits for one with a target checked long before (a project's rules
	// may change meanwhile); without a free one, the app is looked at
	// again, afresh, when a processor frees.
	slot := r.ops.reserve(keyOf(app))
	if slot == nil {
		r.ops.wait(keyOf(app))
		return operationRetry, nil
	}
	if !d.resume || app.Status.OperationState == nil {
		r.startOperation(app, d.op)
		d.resume = true
	}
	if err := checkpoint(); err != nil {
		slot.free()
		return time.Second, fmt.Errorf("record the operation's start: %w", err)
	}
	// ctx is the controller's, not ended when Reconcile returns (no
	// ReconciliationTimeout is set): operations end with the manager.
	work := app.DeepCopy()
	r.ops.start(ctx, keyOf(app), slot, func(ctx context.Context) { r.runOperation(ctx, work, t, m, cmp, d) })
	return 0, nil
}

// refresh renders the app's sources and compares them with the cluster,
// writing status.sync, health, resources, summary and conditions.
func (r *Reconciler) refresh(ctx context.Context, app *argov1.Application, t *target, fo fetchOptions) (*manifests, *comparison, error) {
	now := metav1.NewTime(r.now())
	m, err := r.render(ctx, app, fo)
	if err != nil {
		return nil, nil, r.comparisonFailed(app, fmt.Errorf("failed to generate manifests: %w", err))
	}
	cmp, err := r.compare(ctx, app, t, m)
	if err != nil {
		return nil, nil, r.comparisonFailed(app, err)
	}
	if msg := cmp.errors(); msg != "" {
		setCondition(app, argov1.ApplicationConditionComparisonError, msg, r.now())
	} else {
		clearCondition(app, argov1.ApplicationConditionComparisonError)
	}
	r.watch(ctx, t.dest, cmp)
	st := &app.Status
	changed := st.Sync.Status != cmp.syncStatus() || st.Sync.Revision != m.revision()
	st.Sync = argov1.SyncStatus{Status: cmp.syncStatus(), Revision: m.revision(),
		ComparedTo: argov1.ComparedTo{Destination: app.Spec.Destination, IgnoreDifferences: app.Spec.IgnoreDifferences}}
	if app.Spec.Source != nil && len(app.Spec.Sources) == 0 {
		st.Sync.ComparedTo.Source = *app.Spec.Source
	} else {
		st.Sync.ComparedTo.Sources = app.Spec.Sources
		st.Sync.Revisions = m.revisions
	}
	h := cmp.health()
	if st.Health.Status != h.Status {
		h.LastTransitionTime = &now
		changed = true
	} else {
		h.LastTransitionTime = st.Health.LastTransitionTime
	}
	st.Health = h
	resources := cmp.statusResources()
	changed = changed || !equality.Semantic.DeepEqual(st.Resources, resources)
	st.Resources = resources
	st.Summary = cmp.summary()
	if len(m.sourceTypes) == 1 {
		st.SourceType, st.SourceTypes = m.sourceTypes[0], nil
	} else {
		st.SourceType, st.SourceTypes = "", m.sourceTypes
	}
	st.ControllerNamespace = r.ControlPlaneNamespace
	r.sharedWarning(app, cmp)
	r.orphanWarning(ctx, app, t, cmp)
	if changed || st.ReconciledAt == nil {
		st.ReconciledAt = &now
	}
	log.FromContext(ctx).V(1).Info("compared", "revision", m.revision(), "sync", st.Sync.Status, "health", st.Health.Status)
	return m, cmp, nil
}

// comparisonFailed records err as the app's ComparisonError with sync
// status Unknown, and returns it.
func (r *Reconciler) comparisonFailed(app *argov1.Application, err error) error {
	setCondition(app, argov1.ApplicationConditionComparisonError, err.Error(), r.now())
	if app.Status.Sync.Status != argov1.SyncStatusCodeUnknown || app.Status.ReconciledAt == nil {
		now := metav1.NewTime(r.now())
		app.Status.ReconciledAt = &now
	}
	app.Status.Sync.Status = argov1.SyncStatusCodeUnknown
	return err
}

// sharedWarning sets SharedResourceWarning when another app tracks one of
// this app's objects.
func (r *Reconciler) sharedWarning(app *argov1.Application, cmp *comparison) {
	for _, res := range cmp.resources {
		if res.shared != "" {
			setCondition(app, argov1.ApplicationConditionSharedResourceWarning,
				fmt.Sprintf("%s/%s is part of applications %s and %s", res.Desired.GetKind(), res.Desired.GetName(),
					appID(keyOf(app), r.ControlPlaneNamespace), res.shared), r.now())
			return
		}
	}
	clearCondition(app, argov1.ApplicationConditionSharedResourceWarning)
}

func destinationName(d argov1.ApplicationDestination) string {
	if d.Name != "" {
		return d.Name
	}
	return d.Server
}

// owner identifies the app to the engine: Argo's field manager, and its
// tracking annotation instead of labels.
func (r *Reconciler) owner(app *argov1.Application) engine.Owner {
	self := appID(keyOf(app), r.ControlPlaneNamespace)
	return engine.Owner{Name: app.Name, Namespace: app.Namespace, FieldManager: FieldManager,
		Owns: func(live metav1.Object) bool {
			ro, ok := live.(runtime.Object)
			if !ok {
				return false
			}
			id, selfOK := trackedBy(live, ro.GetObjectKind().GroupVersionKind().GroupKind())
			return selfOK && id == self
		}}
}

// applyOptions are the engine options every compare and apply of app uses.
func (r *Reconciler) applyOptions(app *argov1.Application) engine.ApplyOptions {
	self := appID(keyOf(app), r.ControlPlaneNamespace)
	o := engine.ApplyOptions{
		DefaultNamespace: app.Spec.Destination.Namespace,
		Mark:             func(u *unstructured.Unstructured) { setTracking(u, self, app.Spec.Destination.Namespace) },
		Concurrency:      applyConcurrency,
	}
	if app.Spec.SyncPolicy != nil && diff.NewSyncOptions(app.Spec.SyncPolicy.SyncOptions).Has(argov1.SyncOptionCreateNamespace) &&
		app.Spec.Destination.Namespace != "" {
		o.Namespaces = []string{app.Spec.Destination.Namespace}
	}
	return o
}

// watch makes sure the kinds of the app's objects are watched on its
// cluster, so drift and health changes wake the app within seconds. A
// registered cluster gets its own watches (a live cache) the first time
// one of its apps is compared.
func (r *Reconciler) watch(ctx context.Context, dest *destination, cmp *comparison) {
	w, err := r.watcherFor(dest)
	if err != nil {
		log.FromContext(ctx).Info("cannot watch for drift", "cluster", dest.name, "error", err.Error())
		return
	}
	cmp.watchedBefore = true
	for _, res := range cmp.resources {
		if !w.Watching(res.Desired.GroupVersionKind()) {
			cmp.watchedBefore = false
		}
		if err := w.Ensure(res.Desired.GroupVersionKind()); err != nil {
			log.FromContext(ctx).Info("cannot watch for drift", "kind", res.Desired.GroupVersionKind().String(), "error", err.Error())
		}
	}
}

// LiveCacheMarkers are the marks of the objects Applications manage, which
// a live cache keeps whole: the tracking annotation, and the hook
// annotation (hooks with only a generateName carry no tracking).
func LiveCacheMarkers() []livecache.Marker {
	return []livecache.Marker{{Annotation: argov1.AnnotationKeyTrackingID}, {Annotation: argov1.AnnotationHook}}
}

// watcherFor returns the drift watcher of dest's cluster.
func (r *Reconciler) watcherFor(dest *destination) (*drift.Watcher, error) {
	w, _, err := r.clusterWatch(dest)
	return w, err
}

// remoteWatch is the drift watcher and live cache of one registered
// cluster, made for one version of its Secret; stop ends their watches.
type remoteWatch struct {
	watcher *drift.Watcher
	live    *livecache.Cache
	stop    context.CancelFunc
}

// clusterWatch returns the drift watcher and the live cache (nil when
// there is none) of dest's cluster. A registered cluster gets both the
// first time, the live cache when the local one is on; its watches share
// the cache's informers. A changed cluster Secret stops them and makes
// new ones with its new credentials; a removed one stops them (see
// forgetClusters).
func (r *Reconciler) clusterWatch(dest *destination) (*drift.Watcher, *livecache.Cache, error) {
	if dest.local() {
		return r.watcher, r.Live, nil
	}
	secret, version := cluster.SplitID(dest.cluster.ID)
	w, err := r.remotes.Get(secret, version, func() (*remoteWatch, error) {
		done, stop := context.WithCancel(context.Background())
		run := drift.RunUntil(r.mgr, done)
		opts := drift.Options{Owner: r.ownerOf, StatusChanges: true, OnEvent: r.liveChanged, Config: dest.cluster.Config, Mapper: dest.client.RESTMapper(), Run: run}
		var live *livecache.Cache
		if r.Live != nil {
			var err error
			live, err = livecache.New(dest.cluster.Config, r.Client.Scheme(), dest.client.RESTMapper(),
				livecache.Options{Markers: LiveCacheMarkers()})
			if err != nil {
				stop()
				return nil, fmt.Errorf("live cache of cluster %s: %w", dest.name, err)
			}
			if err := run(live); err != nil {
				stop()
				return nil, err
			}
			opts.Cache = live.Informers()
		}
		w, err := drift.New(r.mgr, r.ctrl, opts)
		if err != nil {
			stop()
			return nil, err
		}
		return &remoteWatch{watcher: w, live: live, stop: stop}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return w.watcher, w.live, nil
}

// forgetClusters stops the watches and drops the clients of registered
// clusters whose Secret is gone.
func (r *Reconciler) forgetClusters(ctx context.Context) {
	secrets, err := r.registry.Secrets.List(ctx)
	if err != nil {
		return
	}
	present := map[string]bool{}
	for _, s := range secrets {
		present[s.Namespace+"/"+s.Name] = true
	}
	keep := func(name string) bool { return present[name] }
	r.remotes.Retain(keep)
	r.clusters.Retain(keep)
}

func (r *Reconciler) event(app *argov1.Application, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(app, nil, typ, reason, "Sync", "%s", note)
	}
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.heals, key)
	delete(r.wrote, key)
	delete(r.liveSeq, key)
	delete(r.quietMemos, key)
}

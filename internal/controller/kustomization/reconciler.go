package kustomization

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/drift"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/controller/predicates"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/livecache"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// FieldManager is the server-side apply field manager of everything a
// Kustomization applies.
const FieldManager = "tether-kustomize"

// EventRecorder records Kubernetes events about an object.
type EventRecorder = lifecycle.EventRecorder

// Reconciler reconciles Kustomization objects.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads Kustomizations and sources (cached) and writes status.
	Client client.Client
	// APIReader reads Secrets and ConfigMaps without caching them all.
	APIReader client.Reader
	// Config is the controller's own client configuration; impersonated
	// and remote clients derive from it.
	Config *rest.Config
	// Storage holds the source artifacts.
	Storage *artifact.Storage
	// Renderer renders artifacts (and caches the results).
	Renderer *render.Renderer
	// Events records Kubernetes events; nil records none.
	Events EventRecorder
	// Concurrency is how many Kustomizations are reconciled at once.
	Concurrency int
	// Clusters says what kubeconfigs in spec.kubeConfig may do (run
	// credential plugins) and the request budget of their clients.
	Clusters cluster.Options
	// Tenancy is the lockdown of tenants' objects: cross-namespace
	// sources and the default service account.
	Tenancy tenancy.Policy
	// Live, when set, is the live cache of the local cluster: compares
	// read from it and drift watches share its informers. Remote
	// clusters are read from their API servers.
	Live *livecache.Cache
	// Progress receives every apply's progress events (engine/sync), for
	// the API to stream; may be nil.
	Progress *enginesync.Hub

	artifacts   *artifactCache
	clients     targets
	drift       *drift.Watcher
	remoteDrift cluster.Versioned[*remoteDrift] // per remote target (kubeconfig Secret and identity), replaced when the Secret changes
	mgr         ctrl.Manager
	ctrl        controller.Controller
	mu          sync.Mutex
	applied     map[types.NamespacedName]appliedState
	drifts      map[types.NamespacedName]uint64 // drift events seen per Kustomization
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder
}

// appliedState is what the last successful apply used; when a reconcile
// finds the same inputs and no watched object changed, nothing is done.
type appliedState struct {
	generation int64
	revision   string
	inputs     string // digest of substitutions and remote cluster
}

const sourceIndex = ".spec.sourceRef"

// SetupWithManager registers the reconciler, its watches on sources and
// its drift watches on applied objects.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.applied = map[types.NamespacedName]appliedState{}
	r.drifts = map[types.NamespacedName]uint64{}
	r.artifacts = newArtifactCache(r.Storage)
	// The unpacked artifacts go when the process stops.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return r.artifacts.close()
	})); err != nil {
		return err
	}
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &kustomizev1.Kustomization{}, sourceIndex,
		func(o client.Object) []string {
			k := o.(*kustomizev1.Kustomization)
			ns := k.Spec.SourceRef.Namespace
			if ns == "" {
				ns = k.Namespace
			}
			return []string{k.Spec.SourceRef.Kind + "/" + ns + "/" + k.Spec.SourceRef.Name}
		})
	if err != nil {
		return fmt.Errorf("index Kustomization sources: %w", err)
	}
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&kustomizev1.Kustomization{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.forSource("GitRepository")),
			builder.WithPredicates(predicates.ArtifactChanged{})).
		Watches(&sourcev1.Bucket{}, handler.EnqueueRequestsFromMapFunc(r.forSource(sourcev1.BucketKind)),
			builder.WithPredicates(predicates.ArtifactChanged{})).
		Watches(&sourcev1.OCIRepository{}, handler.EnqueueRequestsFromMapFunc(r.forSource(sourcev1.OCIRepositoryKind)),
			builder.WithPredicates(predicates.ArtifactChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("kustomization").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &kustomizev1.KustomizationList{})).
		Build(r)
	if err != nil {
		return err
	}
	r.mgr, r.ctrl = mgr, c
	r.remoteDrift.Close = func(w *remoteDrift) { w.stop() }
	r.drift, err = newDriftWatcher(mgr, c, r.markDirty, nil, nil, r.Live, nil)
	return err
}

// forSource maps a source object to the Kustomizations that use it.
func (r *Reconciler) forSource(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list kustomizev1.KustomizationList
		key := kind + "/" + o.GetNamespace() + "/" + o.GetName()
		if err := r.Client.List(ctx, &list, client.MatchingFields{sourceIndex: key}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, k := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: k.Namespace, Name: k.Name}})
		}
		return reqs
	}
}

// Reconcile makes the cluster match one Kustomization's source revision.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled("Kustomization", req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	obj := &kustomizev1.Kustomization{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("Kustomization", obj)) {
		return ctrl.Result{}, nil // another replica's
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if err := lifecycle.EnsureFinalizer(ctx, r.Client, obj, kustomizev1.KustomizationFinalizer); err != nil {
		return ctrl.Result{}, err
	}
	if obj.Spec.Suspend {
		log.FromContext(ctx).V(1).Info("reconciliation is suspended")
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	defer func() {
		if err := r.patchStatus(ctx, before, obj); err != nil && retErr == nil {
			retErr = err
		}
	}()
	force := lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	if err := r.reconcile(ctx, obj, force); err != nil {
		return r.failed(ctx, obj, err)
	}
	return ctrl.Result{RequeueAfter: obj.Spec.Interval.Duration}, nil
}

// failed records err in status, an event and the log, and schedules a
// retry after spec.retryInterval (default: spec.interval).
func (r *Reconciler) failed(ctx context.Context, obj *kustomizev1.Kustomization, err error) (ctrl.Result, error) {
	f := asFailure(err)
	conditions.MarkFailed(obj, f.stalled, f.reason, "%s", f.err.Error())
	if f.healthy != "" {
		conditions.Set(obj, meta.HealthyCondition, "False", f.reason, "%s", f.err.Error())
	}
	r.event(obj, corev1.EventTypeWarning, f.reason, f.err.Error())
	log.FromContext(ctx).Info("reconcile failed", "reason", f.reason, "error", f.err.Error())
	if f.stalled {
		return ctrl.Result{}, nil
	}
	retry := obj.Spec.Interval.Duration
	if obj.Spec.RetryInterval != nil {
		retry = obj.Spec.RetryInterval.Duration
	}
	if f.requeue > 0 {
		retry = f.requeue
	}
	return ctrl.Result{RequeueAfter: retry}, nil
}

func (r *Reconciler) patchStatus(ctx context.Context, before, obj *kustomizev1.Kustomization) error {
	obj.Status.ObservedGeneration = obj.Generation
	if equality.Semantic.DeepEqual(before.Status, obj.Status) {
		return nil
	}
	return lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj)
}

func (r *Reconciler) event(obj *kustomizev1.Kustomization, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}

// markDirty forgets the last applied state of a Kustomization, so that its
// next reconcile applies again; drift watches call it. It also counts the
// drift, so that a reconcile already running cannot record its inputs as
// applied over a drift it did not see.
func (r *Reconciler) markDirty(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.applied, key)
	r.drifts[key]++
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.applied, key)
	delete(r.drifts, key)
}

// lastApplied returns the state of the last successful apply and the
// drift count to hand back to remember.
func (r *Reconciler) lastApplied(key types.NamespacedName) (appliedState, uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.applied[key]
	return s, r.drifts[key], ok
}

// remember records s as applied unless a drift arrived since drifts was
// read: then the next reconcile must apply again.
func (r *Reconciler) remember(key types.NamespacedName, s appliedState, drifts uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drifts[key] == drifts {
		r.applied[key] = s
	}
}

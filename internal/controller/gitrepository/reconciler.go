package gitrepository

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/controller/predicates"
	"github.com/tether-gitops/tether/internal/controller/repowake"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/git"
)

// ArtifactKind is the folder of GitRepository artifacts in the storage.
const ArtifactKind = "gitrepository"

// EventRecorder records Kubernetes events about an object.
type EventRecorder = lifecycle.EventRecorder

// Reconciler reconciles GitRepository objects.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads and writes GitRepositories (cached reads).
	Client client.Client
	// APIReader reads Secrets without caching every Secret of the cluster.
	APIReader client.Reader
	// Fetcher is the shared Git fetcher.
	Fetcher *git.Fetcher
	// Storage stores and serves artifacts.
	Storage *artifact.Storage
	// Events records Kubernetes events; nil records none.
	Events EventRecorder
	// MaxArtifactSize bounds a packed artifact in bytes; 0 is unlimited.
	MaxArtifactSize int64
	// ArtifactRetention is how many artifacts per object are kept; at least 1.
	ArtifactRetention int
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder
}

// SetupWithManager registers the reconciler. A GitRepository is also
// reconciled when a GitRepository it includes gets a new artifact.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	const includeIndex = ".spec.include.repository"
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &sourcev1.GitRepository{}, includeIndex,
		func(o client.Object) []string {
			var names []string
			for _, inc := range o.(*sourcev1.GitRepository).Spec.Include {
				names = append(names, inc.GitRepositoryRef.Name)
			}
			return names
		})
	if err != nil {
		return fmt.Errorf("index GitRepository includes: %w", err)
	}
	includers := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list sourcev1.GitRepositoryList
		if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{includeIndex: o.GetName()}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, item := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: item.Namespace, Name: item.Name}})
		}
		return reqs
	})
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.GitRepository{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&sourcev1.GitRepository{}, includers, builder.WithPredicates(predicates.ArtifactChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("gitrepository").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &sourcev1.GitRepositoryList{})).
		Build(r)
	if err != nil {
		return err
	}
	// Another GitRepository or an Application that saw this repository
	// move wakes it before its interval.
	return repowake.Watch(c, r.Fetcher, func(ctx context.Context, key string) []client.Object {
		var list sourcev1.GitRepositoryList
		if err := r.Client.List(ctx, &list); err != nil {
			return nil
		}
		var out []client.Object
		for i := range list.Items {
			if !list.Items[i].Spec.Suspend && repowake.Key(r.Fetcher, list.Items[i].Spec.URL) == key {
				out = append(out, &list.Items[i])
			}
		}
		return out
	})
}

// Reconcile brings one GitRepository's artifact up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled("GitRepository", req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	obj := &sourcev1.GitRepository{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("GitRepository", obj)) {
		return ctrl.Result{}, nil // another replica's
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if err := lifecycle.EnsureFinalizer(ctx, r.Client, obj, sourcev1.SourceFinalizer); err != nil {
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
	if err := r.reconcileArtifact(ctx, obj, force); err != nil {
		return r.failed(ctx, obj, err)
	}
	return ctrl.Result{RequeueAfter: obj.GetRequeueAfter()}, nil
}

// failed records err in status and events and asks for a retry; stalled
// errors wait for the object to change.
func (r *Reconciler) failed(ctx context.Context, obj *sourcev1.GitRepository, err error) (ctrl.Result, error) {
	var f *failure
	if !asFailure(err, &f) {
		f = &failure{reason: meta.FailedReason, err: err}
	}
	conditions.MarkFailed(obj, f.stalled, f.reason, "%s", f.err.Error())
	if f.condition != "" {
		conditions.Set(obj, f.condition, metav1.ConditionTrue, f.reason, "%s", f.err.Error())
	}
	r.event(obj, corev1.EventTypeWarning, f.reason, f.err.Error())
	log.FromContext(ctx).Info("reconcile failed", "reason", f.reason, "error", f.err.Error())
	if f.stalled {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: retryAfter(obj)}, nil
}

// retryAfter waits the retry interval of a failed reconcile: a fifth of
// the interval, between 2s and the interval itself.
func retryAfter(obj *sourcev1.GitRepository) time.Duration {
	return min(max(obj.GetRequeueAfter()/5, 2*time.Second), obj.GetRequeueAfter())
}

func (r *Reconciler) finalize(ctx context.Context, obj *sourcev1.GitRepository) error {
	if err := r.Storage.Delete(ArtifactKind, obj.Namespace, obj.Name); err != nil {
		return fmt.Errorf("delete artifacts of %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return lifecycle.RemoveFinalizer(ctx, r.Client, obj, sourcev1.SourceFinalizer)
}

// patchStatus writes status when it changed; an unchanged status costs no
// API request.
func (r *Reconciler) patchStatus(ctx context.Context, before, obj *sourcev1.GitRepository) error {
	obj.Status.ObservedGeneration = obj.Generation
	if equalStatus(before.Status, obj.Status) {
		return nil
	}
	return lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj)
}

func (r *Reconciler) event(obj *sourcev1.GitRepository, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}

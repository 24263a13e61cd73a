package ocirepository

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// ArtifactKind is the folder of OCIRepository artifacts in the storage.
const ArtifactKind = "ocirepository"

// Reconciler reconciles OCIRepository objects.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads and writes OCIRepositories (cached reads).
	Client client.Client
	// APIReader reads Secrets and ServiceAccounts, which are not cached.
	APIReader client.Reader
	// OCI talks to registries (with the URL rewrite).
	OCI *oci.Client
	// Storage stores and serves artifacts.
	Storage *artifact.Storage
	// Events records Kubernetes events; nil records none.
	Events lifecycle.EventRecorder
	// MaxArtifactSize bounds a stored artifact and a downloaded layer, in
	// bytes; 0 means oci.DefaultMaxLayerSize for the layer and no bound
	// for the artifact.
	MaxArtifactSize int64
	// ArtifactRetention is how many artifacts per object are kept; at least 1.
	ArtifactRetention int
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder
}

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.OCIRepository{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("ocirepository").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &sourcev1.OCIRepositoryList{})).
		Complete(r)
}

// Reconcile brings one OCIRepository's artifact up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled(sourcev1.OCIRepositoryKind, req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	obj := &sourcev1.OCIRepository{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf(sourcev1.OCIRepositoryKind, obj)) {
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

// failure is a reconcile error with the condition reason it maps to.
type failure struct {
	reason    string
	condition string // extra condition set True, such as FetchFailed
	stalled   bool
	err       error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// failed records err in status, an event and the log, and asks for a
// retry unless retrying cannot help; the previous artifact stays.
func (r *Reconciler) failed(ctx context.Context, obj *sourcev1.OCIRepository, err error) (ctrl.Result, error) {
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{reason: meta.FailedReason, err: err}
	}
	conditions.MarkFailed(obj, f.stalled, f.reason, "%s", f.err.Error())
	if f.condition != "" {
		status := metav1.ConditionTrue
		if f.condition == sourcev1.SourceVerifiedCondition {
			status = metav1.ConditionFalse
		}
		conditions.Set(obj, f.condition, status, f.reason, "%s", f.err.Error())
	}
	r.event(obj, corev1.EventTypeWarning, f.reason, f.err.Error())
	log.FromContext(ctx).Info("reconcile failed", "reason", f.reason, "error", f.err.Error())
	if f.stalled {
		return ctrl.Result{}, nil
	}
	every := obj.GetRequeueAfter()
	return ctrl.Result{RequeueAfter: min(max(every/5, 2*time.Second), max(every, 2*time.Second))}, nil
}

func (r *Reconciler) finalize(ctx context.Context, obj *sourcev1.OCIRepository) error {
	if err := r.Storage.Delete(ArtifactKind, obj.Namespace, obj.Name); err != nil {
		return fmt.Errorf("delete artifacts of %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return lifecycle.RemoveFinalizer(ctx, r.Client, obj, sourcev1.SourceFinalizer)
}

// patchStatus writes status when it changed; an unchanged status costs no
// API request.
func (r *Reconciler) patchStatus(ctx context.Context, before, obj *sourcev1.OCIRepository) error {
	obj.Status.ObservedGeneration = obj.Generation
	if equality.Semantic.DeepEqual(before.Status, obj.Status) {
		return nil
	}
	return lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj)
}

func (r *Reconciler) event(obj *sourcev1.OCIRepository, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}

package bucket

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
)

// ArtifactKind is the folder of Bucket artifacts in the storage.
const ArtifactKind = "bucket"

// Reconciler reconciles Bucket objects.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads and writes Buckets (cached reads).
	Client client.Client
	// APIReader reads Secrets without caching every Secret of the cluster.
	APIReader client.Reader
	// Storage stores and serves artifacts.
	Storage *artifact.Storage
	// Events records Kubernetes events; nil records none.
	Events lifecycle.EventRecorder
	// MaxArtifactSize bounds a packed artifact in bytes; 0 is unlimited.
	MaxArtifactSize int64
	// ArtifactRetention is how many artifacts per object are kept; at least 1.
	ArtifactRetention int
	// MaxObjects and MaxBytes bound one bucket's listing and download;
	// 0 means the bucket package's defaults.
	MaxObjects int
	MaxBytes   int64
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder
}

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.Bucket{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("bucket").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &sourcev1.BucketList{})).
		Complete(r)
}

// Reconcile brings one Bucket's artifact up to date: finalizer, suspend,
// requestedAt handshake, then the artifact; status is written once at the
// end, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled(sourcev1.BucketKind, req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	obj := &sourcev1.Bucket{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	switch {
	case !r.Shard.Owns(shard.KeyOf(sourcev1.BucketKind, obj)):
		return ctrl.Result{}, nil // another replica's
	case !obj.DeletionTimestamp.IsZero():
		if err := r.Storage.Delete(ArtifactKind, obj.Namespace, obj.Name); err != nil {
			return ctrl.Result{}, fmt.Errorf("delete artifacts of %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		return ctrl.Result{}, lifecycle.RemoveFinalizer(ctx, r.Client, obj, sourcev1.SourceFinalizer)
	}
	if err := lifecycle.EnsureFinalizer(ctx, r.Client, obj, sourcev1.SourceFinalizer); err != nil || obj.Spec.Suspend {
		return ctrl.Result{}, err
	}

	before := obj.DeepCopy()
	defer func() {
		obj.Status.ObservedGeneration = obj.Generation
		if equality.Semantic.DeepEqual(before.Status, obj.Status) {
			return
		}
		if err := lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj); err != nil && retErr == nil {
			retErr = err
		}
	}()
	lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	if err := r.reconcileArtifact(ctx, obj); err != nil {
		return r.record(ctx, obj, err), nil
	}
	return ctrl.Result{RequeueAfter: obj.GetRequeueAfter()}, nil
}

// failure is a reconcile error with the condition reason it maps to.
type failure struct {
	reason    string
	condition string // extra condition set True, such as FetchFailed
	stalled   bool   // retrying cannot help until the object changes
	err       error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// record puts a failed reconcile in the conditions, an event and the log
// (the previous artifact stays), and says when to try again: a fifth of
// the interval, between 2s and the interval; never when stalled.
func (r *Reconciler) record(ctx context.Context, obj *sourcev1.Bucket, err error) ctrl.Result {
	f := &failure{reason: meta.FailedReason, err: err}
	errors.As(err, &f)
	msg := f.err.Error()
	conditions.MarkFailed(obj, f.stalled, f.reason, "%s", msg)
	if f.condition != "" {
		conditions.Set(obj, f.condition, metav1.ConditionTrue, f.reason, "%s", msg)
	}
	r.event(obj, corev1.EventTypeWarning, f.reason, msg)
	log.FromContext(ctx).Info("reconcile failed", "reason", f.reason, "error", msg)
	if f.stalled {
		return ctrl.Result{}
	}
	interval := obj.GetRequeueAfter()
	return ctrl.Result{RequeueAfter: min(max(interval/5, 2*time.Second), interval)}
}

func (r *Reconciler) event(obj *sourcev1.Bucket, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}

package helmsource

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
)

// RepositoryArtifactKind is the folder of HelmRepository artifacts.
const RepositoryArtifactKind = "helmrepository"

// RepositoryReconciler reconciles HelmRepository objects.
type RepositoryReconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads and writes HelmRepositories (cached reads).
	Client client.Client
	// APIReader reads Secrets without caching every Secret.
	APIReader client.Reader
	// Helm reads chart repositories (with the URL rewrite).
	Helm *helm.Client
	// Storage stores and serves artifacts.
	Storage *artifact.Storage
	// Events records Kubernetes events; nil records none.
	Events lifecycle.EventRecorder
	// ArtifactRetention is how many artifacts per object are kept.
	ArtifactRetention int
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder
}

// SetupWithManager registers the reconciler.
func (r *RepositoryReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.HelmRepository{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("helmrepository").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &sourcev1.HelmRepositoryList{})).
		Complete(r)
}

// Reconcile brings one HelmRepository's index artifact up to date.
func (r *RepositoryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled("HelmRepository", req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	obj := &sourcev1.HelmRepository{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("HelmRepository", obj)) {
		return ctrl.Result{}, nil // another replica's
	}
	if done, err := prelude(ctx, r.Client, r.Storage, RepositoryArtifactKind, obj, obj.Spec.Suspend); done || err != nil {
		return ctrl.Result{}, err
	}
	st := &status{client: r.Client, reader: r.APIReader, events: r.Events}
	before := obj.DeepCopy()
	defer func() {
		obj.Status.ObservedGeneration = obj.Generation
		if err := st.patch(ctx, before, obj, before.Status, obj.Status); err != nil && retErr == nil {
			retErr = err
		}
	}()
	force := lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	if err := r.reconcileIndex(ctx, obj, st, force); err != nil {
		return st.failed(ctx, obj, err)
	}
	return ctrl.Result{RequeueAfter: obj.GetRequeueAfter()}, nil
}

// reconcileIndex fetches the index and stores it when it changed. An OCI
// repository has no index: it is a pointer that HelmCharts follow.
func (r *RepositoryReconciler) reconcileIndex(ctx context.Context, obj *sourcev1.HelmRepository, st *status, force bool) error {
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "reconciling new object generation (%d)", obj.Generation)
	}
	if obj.Spec.Type == "oci" {
		if !strings.HasPrefix(obj.Spec.URL, "oci://") {
			return &failure{reason: sourcev1.URLInvalidReason, stalled: true,
				err: fmt.Errorf("URL '%s' of an OCI HelmRepository must start with oci://", obj.Spec.URL)}
		}
		obj.Status.Artifact, obj.Status.URL = nil, ""
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		conditions.MarkReady(obj, meta.SucceededReason, "Helm repository is ready")
		return nil
	}
	if u, err := url.Parse(obj.Spec.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &failure{reason: sourcev1.URLInvalidReason, stalled: true,
			err: fmt.Errorf("invalid Helm repository URL '%s': an HTTP repository needs an http:// or https:// URL (type: oci for oci://)", obj.Spec.URL)}
	}
	auth, err := repositoryAuth(ctx, r.APIReader, obj)
	if err != nil {
		return &failure{reason: sourcev1.AuthenticationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	idx, err := r.Helm.FetchIndex(ctx, obj.Spec.URL, auth)
	if err != nil {
		return fetchFailure(meta.FailedReason, err)
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	if a := obj.Status.Artifact; a != nil && a.Digest == idx.Digest && r.Storage.Exists(a.Path) && !force {
		conditions.MarkReady(obj, meta.SucceededReason, "stored artifact: revision '%s'", a.Revision)
		return nil
	}
	stored, err := r.Storage.StoreBytes(ctx, RepositoryArtifactKind, obj.Namespace, obj.Name, ".yaml", idx.Raw)
	if err != nil {
		return &failure{reason: sourcev1.ArchiveOperationFailedReason, condition: sourcev1.StorageOperationFailedCondition, err: err}
	}
	changed := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != stored.Digest
	obj.Status.Artifact = artifactOf(idx.Digest, stored)
	obj.Status.URL = stored.URL
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.Set(obj, sourcev1.ArtifactInStorageCondition, "True", meta.SucceededReason, "stored artifact: revision '%s'", idx.Digest)
	conditions.MarkReady(obj, meta.SucceededReason, "stored artifact: revision '%s'", idx.Digest)
	if changed {
		st.event(obj, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
			fmt.Sprintf("stored fetched index of size %d from '%s'", len(idx.Raw), obj.Spec.URL))
	}
	if _, err := r.Storage.GC(RepositoryArtifactKind, obj.Namespace, obj.Name, max(r.ArtifactRetention, 1), stored.Path); err != nil {
		log.FromContext(ctx).Info("artifact garbage collection failed", "error", err.Error())
	}
	return nil
}

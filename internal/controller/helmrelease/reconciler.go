package helmrelease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/controller/predicates"
	"github.com/tether-gitops/tether/internal/livecache"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/redact"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// FieldManager is the field manager of the HelmCharts a HelmRelease makes
// and of Helm's own applies (Flux's name, so that objects move from Flux
// without conflicts).
const FieldManager = "helm-controller"

// Reconciler reconciles HelmRelease objects.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads HelmReleases and sources (cached) and writes status.
	Client client.Client
	// APIReader reads HelmReleases, ConfigMaps and Secrets uncached.
	APIReader client.Reader
	// Config is the controller's own client configuration; impersonated
	// and remote clients derive from it.
	Config *rest.Config
	// Storage holds the chart artifacts.
	Storage *artifact.Storage
	// Renderer runs post-renderers (Kustomize) over Helm's output.
	Renderer *render.Renderer
	// Events records Kubernetes events; nil records none.
	Events lifecycle.EventRecorder
	// Concurrency is how many HelmReleases are reconciled at once.
	Concurrency int
	// Clusters says what kubeconfigs in spec.kubeConfig may do (run
	// credential plugins) and the request budget of their clients.
	Clusters cluster.Options
	// Tenancy is the lockdown of tenants' objects: cross-namespace
	// sources and the default service account.
	Tenancy tenancy.Policy
	// DependencyRequeue is how long a HelmRelease waits for a dependency
	// that is not ready (30s when zero).
	DependencyRequeue time.Duration
	// Live, when set, is the live cache of the local cluster: drift
	// checks of releases there read from it.
	Live *livecache.Cache

	targets targets
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder

	// secrets holds, per HelmRelease (types.NamespacedName), the
	// *redact.Values it took from Secrets (see mask.go).
	secrets sync.Map
}

const (
	chartIndex    = ".status.helmChart"
	ociChartIndex = ".spec.chartRef.ociRepository"
)

// SetupWithManager registers the reconciler; a HelmRelease is reconciled
// at once when its chart (a HelmChart or an OCIRepository) gets a new
// artifact.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &helmv2.HelmRelease{}, chartIndex,
		func(o client.Object) []string {
			hr := o.(*helmv2.HelmRelease)
			if ref := hr.Spec.ChartRef; ref != nil && ref.Kind == sourcev1.HelmChartKind {
				return []string{defaultNS(ref.Namespace, hr.Namespace) + "/" + ref.Name}
			}
			if hr.Spec.Chart != nil {
				return []string{chartNamespace(hr) + "/" + hr.GetChartTemplateName()}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("index HelmRelease charts: %w", err)
	}
	err = mgr.GetFieldIndexer().IndexField(context.Background(), &helmv2.HelmRelease{}, ociChartIndex,
		func(o client.Object) []string {
			hr := o.(*helmv2.HelmRelease)
			if ref := hr.Spec.ChartRef; ref != nil && ref.Kind == sourcev1.OCIRepositoryKind {
				return []string{defaultNS(ref.Namespace, hr.Namespace) + "/" + ref.Name}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("index HelmRelease OCIRepository charts: %w", err)
	}
	forSource := func(index string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list helmv2.HelmReleaseList
			if err := r.Client.List(ctx, &list, client.MatchingFields{index: o.GetNamespace() + "/" + o.GetName()}); err != nil {
				return nil
			}
			reqs := make([]reconcile.Request, 0, len(list.Items))
			for _, hr := range list.Items {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}})
			}
			return reqs
		})
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&helmv2.HelmRelease{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&sourcev1.HelmChart{}, forSource(chartIndex), builder.WithPredicates(predicates.ArtifactChanged{})).
		Watches(&sourcev1.OCIRepository{}, forSource(ociChartIndex), builder.WithPredicates(predicates.ArtifactChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("helmrelease").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &helmv2.HelmReleaseList{})).
		Complete(r)
}

// Reconcile brings one HelmRelease's release in line with its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled("HelmRelease", req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	// The error goes to the manager's log: masked last, as the reconcile's
	// own log lines are.
	secrets := func() *redact.Values { return r.secretsOf(req.NamespacedName) }
	defer func() { retErr = secrets().Error(retErr) }()
	ctx = log.IntoContext(ctx, maskedLogger(log.FromContext(ctx), secrets))
	obj := &helmv2.HelmRelease{}
	// Read around the cache: the status decides what the release loop does
	// next, and a status written moments ago must not come back stale.
	if err := r.APIReader.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.secrets.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("HelmRelease", obj)) {
		return ctrl.Result{}, nil // another replica's
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if err := lifecycle.EnsureFinalizer(ctx, r.Client, obj, helmv2.HelmReleaseFinalizer); err != nil {
		return ctrl.Result{}, err
	}
	if obj.Spec.Suspend {
		log.FromContext(ctx).V(1).Info("reconciliation is suspended for this object")
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	defer func() {
		obj.Status.ObservedGeneration = obj.Generation
		if err := r.patchStatus(ctx, before, obj); err != nil && retErr == nil {
			retErr = err
		}
	}()
	return r.reconcile(ctx, obj, before)
}

// patchStatus writes status when it changed, with values from Secrets
// masked in every condition message; before is updated to what was
// written, so that later patches send only what changed since.
func (r *Reconciler) patchStatus(ctx context.Context, before, obj *helmv2.HelmRelease) error {
	maskConditions(obj, r.secretsOf(client.ObjectKeyFromObject(obj)))
	if equality.Semantic.DeepEqual(before.Status, obj.Status) {
		return nil
	}
	if err := lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj); err != nil {
		return err
	}
	before.Status = *obj.Status.DeepCopy()
	before.ResourceVersion = obj.ResourceVersion
	return nil
}

// event records an event about obj, values from Secrets masked in its
// note.
func (r *Reconciler) event(obj *helmv2.HelmRelease, typ, reason, note string) {
	if r.Events != nil {
		note = r.secretsOf(client.ObjectKeyFromObject(obj)).String(note)
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}

// failed records a failure before the release loop: Ready=False with the
// reason, an event and a retry after the interval's fifth.
func (r *Reconciler) failed(ctx context.Context, obj *helmv2.HelmRelease, reason string, err error, stalled bool) (ctrl.Result, error) {
	conditions.MarkFailed(obj, stalled, reason, "%s", err.Error())
	r.event(obj, corev1.EventTypeWarning, reason, err.Error())
	log.FromContext(ctx).Info("reconcile failed", "reason", reason, "error", err.Error())
	if stalled {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: min(max(obj.GetRequeueAfter()/5, 2*time.Second), obj.GetRequeueAfter())}, nil
}

// checkDependencies fails until every HelmRelease in spec.dependsOn is
// Ready for its current generation.
func (r *Reconciler) checkDependencies(ctx context.Context, obj *helmv2.HelmRelease) error {
	for _, dep := range obj.Spec.DependsOn {
		key := types.NamespacedName{Namespace: defaultNS(dep.Namespace, obj.Namespace), Name: dep.Name}
		var d helmv2.HelmRelease
		if err := r.Client.Get(ctx, key, &d); err != nil {
			return fmt.Errorf("unable to get '%s' dependency: %w", key, err)
		}
		if d.Generation != d.Status.ObservedGeneration || !conditions.IsTrue(&d, meta.ReadyCondition) {
			return fmt.Errorf("dependency '%s' is not ready", key)
		}
	}
	return nil
}

func defaultNS(ns, def string) string {
	if ns == "" {
		return def
	}
	return ns
}

// errRequeue asks for a new reconcile at once (after a remediation).
var errRequeue = errors.New("requeue")

// targets caches one helm.Cluster per identity and cluster (per
// kubeconfig Secret, replaced when it changes).
type targets = cluster.Versioned[*clusterEntry]

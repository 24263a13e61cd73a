package helmsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
)

// ChartArtifactKind is the folder of HelmChart artifacts.
const ChartArtifactKind = "helmchart"

// Reasons of HelmChart failures, as Flux's source-controller reports them.
const (
	chartPullErrorReason    = "ChartPullError"
	chartPackageErrorReason = "ChartPackageError"
)

// ChartReconciler reconciles HelmChart objects.
type ChartReconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads HelmCharts and their sources (cached) and writes status.
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

	indexes indexCache
	// Metrics, when set, counts reconciles (nil: none).
	Metrics *metrics.Recorder
}

const chartSourceIndex = ".spec.sourceRef"

// SetupWithManager registers the reconciler; a HelmChart is reconciled at
// once when its source gets a new artifact.
func (r *ChartReconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &sourcev1.HelmChart{}, chartSourceIndex,
		func(o client.Object) []string {
			ref := o.(*sourcev1.HelmChart).Spec.SourceRef
			return []string{ref.Kind + "/" + ref.Name}
		})
	if err != nil {
		return fmt.Errorf("index HelmChart sources: %w", err)
	}
	forSource := func(kind string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list sourcev1.HelmChartList
			if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()),
				client.MatchingFields{chartSourceIndex: kind + "/" + o.GetName()}); err != nil {
				return nil
			}
			reqs := make([]reconcile.Request, 0, len(list.Items))
			for _, c := range list.Items {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
			}
			return reqs
		})
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.HelmChart{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&sourcev1.HelmRepository{}, forSource(sourcev1.HelmRepositoryKind), builder.WithPredicates(predicates.ArtifactChanged{})).
		Watches(&sourcev1.GitRepository{}, forSource(sourcev1.GitRepositoryKind), builder.WithPredicates(predicates.ArtifactChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("helmchart").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &sourcev1.HelmChartList{})).
		Complete(r)
}

// Reconcile brings one HelmChart's chart artifact up to date.
func (r *ChartReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	defer func(start time.Time) {
		r.Metrics.FluxReconciled("HelmChart", req.Namespace, req.Name, time.Since(start))
	}(time.Now())
	obj := &sourcev1.HelmChart{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("HelmChart", obj)) {
		return ctrl.Result{}, nil // another replica's
	}
	if done, err := prelude(ctx, r.Client, r.Storage, ChartArtifactKind, obj, obj.Spec.Suspend); done || err != nil {
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
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "reconciling new object generation (%d)", obj.Generation)
	}
	var err error
	switch kind := obj.Spec.SourceRef.Kind; kind {
	case sourcev1.HelmRepositoryKind:
		err = r.fromRepository(ctx, obj, st, force)
	case sourcev1.GitRepositoryKind:
		err = r.fromGit(ctx, obj, st, force)
	default:
		err = &failure{reason: "UnsupportedSourceKind", stalled: true,
			err: fmt.Errorf("unsupported source kind '%s': Tether builds charts from HelmRepository and GitRepository sources", kind)}
	}
	if err != nil {
		return st.failed(ctx, obj, err)
	}
	return ctrl.Result{RequeueAfter: obj.GetRequeueAfter()}, nil
}

// valuesFiles lists spec.valuesFiles, after the deprecated spec.valuesFile.
func valuesFiles(obj *sourcev1.HelmChart) []string {
	var files []string
	if obj.Spec.ValuesFile != "" {
		files = append(files, obj.Spec.ValuesFile)
	}
	return append(files, obj.Spec.ValuesFiles...)
}

// upToDate reports whether the stored artifact is the chart for this
// version, built from source revision with the current spec (any new
// generation builds again).
func (r *ChartReconciler) upToDate(obj *sourcev1.HelmChart, version, sourceRevision string) bool {
	a := obj.Status.Artifact
	return a != nil && r.Storage.Exists(a.Path) && a.Revision == version && obj.Status.ObservedGeneration == obj.Generation &&
		obj.Status.ObservedChartName == obj.Spec.Chart &&
		(sourceRevision == "" || obj.Status.ObservedSourceArtifactRevision == sourceRevision) &&
		slices.Equal(obj.Status.ObservedValuesFiles, valuesFiles(obj))
}

func (r *ChartReconciler) repository(ctx context.Context, obj *sourcev1.HelmChart) (*sourcev1.HelmRepository, error) {
	repo := &sourcev1.HelmRepository{}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.SourceRef.Name}
	if err := r.Client.Get(ctx, key, repo); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &failure{reason: "SourceUnavailable", condition: sourcev1.FetchFailedCondition,
				err: fmt.Errorf("HelmRepository '%s' not found", key)}
		}
		return nil, fmt.Errorf("get HelmRepository '%s': %w", key, err)
	}
	return repo, nil
}

// fromRepository resolves the version in the repository's index (or
// among the registry's tags) and pulls the chart when it is new.
func (r *ChartReconciler) fromRepository(ctx context.Context, obj *sourcev1.HelmChart, st *status, force bool) error {
	if err := helm.CheckVersion(obj.Spec.Version); err != nil {
		return &failure{reason: "InvalidChartReference", stalled: true, err: fmt.Errorf("invalid chart reference: %w", err)}
	}
	repo, err := r.repository(ctx, obj)
	if err != nil {
		return err
	}
	auth, err := repositoryAuth(ctx, r.APIReader, repo)
	if err != nil {
		return &failure{reason: sourcev1.AuthenticationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, repo.GetTimeout())
	defer cancel()
	var (
		version, sourceRevision string
		pull                    func() ([]byte, error)
	)
	if repo.Spec.Type == "oci" {
		version, err = r.Helm.ResolveOCI(ctx, repo.Spec.URL, obj.Spec.Chart, obj.Spec.Version, auth)
		if err != nil {
			return fetchFailure(chartPullErrorReason, err)
		}
		pull = func() ([]byte, error) {
			c, err := r.Helm.PullOCI(ctx, repo.Spec.URL, obj.Spec.Chart, version, auth)
			if err != nil {
				return nil, err
			}
			return c.Data, nil
		}
	} else {
		a := repo.Status.Artifact
		if a == nil || r.Storage.Fetch(ctx, a.Path, a.URL, a.Digest) != nil { // another replica may have made it
			return &failure{reason: sourcev1.NoSourceArtifactReason,
				err: fmt.Errorf("no artifact available for HelmRepository source '%s'", repo.Name)}
		}
		idx, err := r.indexes.get(r.Storage, a)
		if err != nil {
			return &failure{reason: chartPullErrorReason, condition: sourcev1.FetchFailedCondition, err: err}
		}
		cv, err := idx.Find(obj.Spec.Chart, obj.Spec.Version)
		if err != nil {
			return fetchFailure(chartPullErrorReason, err)
		}
		version, sourceRevision = cv.Version, a.Revision
		pull = func() ([]byte, error) { return r.Helm.DownloadChart(ctx, repo.Spec.URL, cv, auth) }
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	final := withValuesGeneration(obj, version)
	if !force && r.upToDate(obj, final, "") {
		r.markStored(obj, sourceRevision, sourcev1.ChartPullSucceededReason, "pulled")
		return nil
	}
	data, err := pull()
	if err != nil {
		return fetchFailure(chartPullErrorReason, err)
	}
	ch, err := helm.LoadArchive(data)
	if err != nil {
		return &failure{reason: chartPullErrorReason, condition: sourcev1.FetchFailedCondition, err: fmt.Errorf("chart '%s' version '%s': %w", obj.Spec.Chart, version, err)}
	}
	files, err := chartValuesFiles(obj, func(name string) []byte { return helm.ChartFile(ch, name) })
	if err != nil {
		return err
	}
	if len(files) > 0 {
		if err := helm.MergeValuesFiles(ch, files); err != nil {
			return &failure{reason: chartPackageErrorReason, stalled: true, err: err}
		}
	}
	if final != version || len(files) > 0 {
		ch.Metadata.Version = final
		if data, err = helm.Package(ch); err != nil {
			return &failure{reason: chartPackageErrorReason, err: err}
		}
	}
	return r.store(ctx, obj, st, data, final, sourceRevision, sourcev1.ChartPullSucceededReason, "pulled")
}

// fromGit packages the chart at spec.chart (a path) in the GitRepository's
// artifact, when the source revision or the settings changed.
func (r *ChartReconciler) fromGit(ctx context.Context, obj *sourcev1.HelmChart, st *status, force bool) error {
	src := &sourcev1.GitRepository{}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.SourceRef.Name}
	if err := r.Client.Get(ctx, key, src); err != nil {
		if apierrors.IsNotFound(err) {
			return &failure{reason: "SourceUnavailable", err: fmt.Errorf("GitRepository '%s' not found", key)}
		}
		return err
	}
	a := src.Status.Artifact
	if a == nil || r.Storage.Fetch(ctx, a.Path, a.URL, a.Digest) != nil { // another replica may have made it
		return &failure{reason: sourcev1.NoSourceArtifactReason, err: fmt.Errorf("no artifact available for GitRepository source '%s'", src.Name)}
	}
	chartPath := path.Clean(strings.TrimPrefix(filepath.ToSlash(obj.Spec.Chart), "./"))
	if !filepath.IsLocal(chartPath) && chartPath != "." {
		return &failure{reason: sourcev1.InvalidPathReason, stalled: true,
			err: fmt.Errorf("chart path '%s' must be relative and stay inside the source", obj.Spec.Chart)}
	}
	if !force && obj.Status.Artifact != nil && r.upToDate(obj, obj.Status.Artifact.Revision, a.Revision) {
		r.markStored(obj, a.Revision, sourcev1.ChartPackageSucceededReason, "packaged")
		return nil
	}
	dir, err := os.MkdirTemp("", "tether-chart-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := r.Storage.Extract(ctx, a.Path, dir); err != nil {
		return &failure{reason: sourcev1.ArchiveOperationFailedReason, err: fmt.Errorf("extract artifact of GitRepository '%s': %w", key, err)}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	ch, err := helm.LoadDir(root, chartPath)
	if err == nil {
		err = helm.CheckDependencies(ch)
	}
	if err != nil {
		return &failure{reason: chartPackageErrorReason, stalled: errors.Is(err, helm.ErrInvalid) || errors.Is(err, helm.ErrNotFound),
			err: fmt.Errorf("chart '%s' in GitRepository '%s': %w", obj.Spec.Chart, key, err)}
	}
	files, err := chartValuesFiles(obj, func(name string) []byte {
		data, err := root.ReadFile(path.Clean(strings.TrimPrefix(filepath.ToSlash(name), "./")))
		if err != nil {
			return nil
		}
		return data
	})
	if err != nil {
		return err
	}
	if err := helm.MergeValuesFiles(ch, files); err != nil {
		return &failure{reason: chartPackageErrorReason, stalled: true, err: err}
	}
	if obj.Spec.ReconcileStrategy == "Revision" {
		ch.Metadata.Version = revisionVersion(ch.Metadata.Version, a.Revision)
	}
	ch.Metadata.Version = withValuesGeneration(obj, ch.Metadata.Version)
	data, err := helm.Package(ch)
	if err != nil {
		return &failure{reason: chartPackageErrorReason, err: err}
	}
	return r.store(ctx, obj, st, data, ch.Metadata.Version, a.Revision, sourcev1.ChartPackageSucceededReason, "packaged")
}

// withValuesGeneration adds the object's generation to a chart version as
// build metadata when values files are merged into it ("6.0.3+2"), as
// Flux does, so that changed values files make a new chart version and
// the HelmReleases using it upgrade.
func withValuesGeneration(obj *sourcev1.HelmChart, version string) string {
	files := valuesFiles(obj)
	if len(files) == 0 || (len(files) == 1 && files[0] == "values.yaml") {
		return version
	}
	gen := strconv.FormatInt(obj.Generation, 10)
	if strings.Contains(version, "+") {
		return version + "." + gen
	}
	return version + "+" + gen
}

// revisionVersion adds the source revision's digest to a chart version as
// build metadata, so that every commit makes a new chart version.
func revisionVersion(version, revision string) string {
	digest := revision
	if i := strings.LastIndex(digest, ":"); i >= 0 {
		digest = digest[i+1:]
	}
	if len(digest) > 12 {
		digest = digest[:12]
	}
	if strings.Contains(version, "+") {
		return version + "." + digest
	}
	return version + "+" + digest
}

// chartValuesFiles reads the values files a HelmChart names, through read.
func chartValuesFiles(obj *sourcev1.HelmChart, read func(string) []byte) ([]helm.ValuesFile, error) {
	var out []helm.ValuesFile
	for _, name := range valuesFiles(obj) {
		data := read(name)
		if data == nil {
			if obj.Spec.IgnoreMissingValuesFiles {
				continue
			}
			return nil, &failure{reason: chartPackageErrorReason, stalled: true,
				err: fmt.Errorf("values file '%s' not found in chart '%s'", name, obj.Spec.Chart)}
		}
		out = append(out, helm.ValuesFile{Name: name, Data: data})
	}
	return out, nil
}

// store stores a chart archive and records it in status.
func (r *ChartReconciler) store(ctx context.Context, obj *sourcev1.HelmChart, st *status, data []byte, version, sourceRevision, reason, verb string) error {
	stored, err := r.Storage.StoreBytes(ctx, ChartArtifactKind, obj.Namespace, obj.Name, ".tgz", data)
	if err != nil {
		return &failure{reason: sourcev1.ArchiveOperationFailedReason, condition: sourcev1.StorageOperationFailedCondition, err: err}
	}
	old := obj.Status.Artifact
	obj.Status.Artifact = artifactOf(version, stored)
	obj.Status.URL = stored.URL
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	r.markStored(obj, sourceRevision, reason, verb)
	if old == nil || old.Digest != stored.Digest || old.Revision != version {
		st.event(obj, corev1.EventTypeNormal, reason, fmt.Sprintf("%s '%s' chart with version '%s'", verb, obj.Spec.Chart, version))
	}
	if _, err := r.Storage.GC(ChartArtifactKind, obj.Namespace, obj.Name, max(r.ArtifactRetention, 1), stored.Path); err != nil {
		log.FromContext(ctx).Info("artifact garbage collection failed", "error", err.Error())
	}
	return nil
}

func (r *ChartReconciler) markStored(obj *sourcev1.HelmChart, sourceRevision, reason, verb string) {
	obj.Status.ObservedChartName = obj.Spec.Chart
	obj.Status.ObservedSourceArtifactRevision = sourceRevision
	obj.Status.ObservedValuesFiles = valuesFiles(obj)
	msg := fmt.Sprintf("%s '%s' chart with version '%s'", verb, obj.Spec.Chart, obj.Status.Artifact.Revision)
	conditions.Set(obj, sourcev1.ArtifactInStorageCondition, "True", reason, "%s", msg)
	conditions.MarkReady(obj, reason, "%s", msg)
}

// indexCache keeps the last parsed repository indexes by digest, so that
// many HelmCharts of one repository parse its index once.
type indexCache struct {
	mu      sync.Mutex
	entries []indexEntry
}

type indexEntry struct {
	digest string
	index  *helm.Index
}

const indexCacheSize = 8

func (c *indexCache) get(storage *artifact.Storage, a *meta.Artifact) (*helm.Index, error) {
	c.mu.Lock()
	for i, e := range c.entries {
		if e.digest == a.Digest {
			c.entries = append(append([]indexEntry{e}, c.entries[:i]...), c.entries[i+1:]...)
			c.mu.Unlock()
			return e.index, nil
		}
	}
	c.mu.Unlock()
	data, err := storage.ReadFile(a.Path, helm.DefaultMaxIndexSize)
	if err != nil {
		return nil, err
	}
	idx, err := helm.ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("stored index %s: %w", a.Path, err)
	}
	entry := indexEntry{digest: a.Digest, index: &helm.Index{IndexFile: idx, Raw: nil, Digest: a.Digest}}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append([]indexEntry{entry}, c.entries...)
	if len(c.entries) > indexCacheSize {
		c.entries = c.entries[:indexCacheSize]
	}
	return entry.index, nil
}

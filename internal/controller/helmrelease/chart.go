package helmrelease

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/Masterminds/semver/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/helm"
)

// notReady says the chart source has no usable artifact yet; the
// HelmRelease waits for the source's watch to wake it.
type notReady struct{ msg string }

func (e *notReady) Error() string { return e.msg }

// chartNamespace is where the HelmChart made from spec.chart lives.
func chartNamespace(obj *helmv2.HelmRelease) string {
	if obj.Spec.Chart != nil && obj.Spec.Chart.Spec.SourceRef != nil && obj.Spec.Chart.Spec.SourceRef.Namespace != "" {
		return obj.Spec.Chart.Spec.SourceRef.Namespace
	}
	return obj.Namespace
}

// chartArtifact is the source object whose artifact holds the release's
// chart: a HelmChart or an OCIRepository.
type chartArtifact struct {
	kind     string
	key      types.NamespacedName
	artifact *meta.Artifact
}

// sourceObject is what the readiness check reads of a source.
type sourceObject interface {
	client.Object
	conditions.Object
	GetArtifact() *meta.Artifact
}

// observedGeneration is the source's status.observedGeneration.
func observedGeneration(src sourceObject) int64 {
	switch s := src.(type) {
	case *sourcev1.HelmChart:
		return s.Status.ObservedGeneration
	case *sourcev1.OCIRepository:
		return s.Status.ObservedGeneration
	}
	return -1
}

// chartSource returns the source whose artifact the release uses: the
// HelmChart made from spec.chart (created or updated here), or the
// HelmChart or OCIRepository spec.chartRef names.
func (r *Reconciler) chartSource(ctx context.Context, obj *helmv2.HelmRelease) (*chartArtifact, error) {
	var key types.NamespacedName
	var src sourceObject = &sourcev1.HelmChart{}
	switch {
	case obj.Spec.ChartRef != nil:
		ref := obj.Spec.ChartRef
		switch ref.Kind {
		case sourcev1.HelmChartKind:
		case sourcev1.OCIRepositoryKind:
			src = &sourcev1.OCIRepository{}
		default:
			return nil, fmt.Errorf("chartRef kind '%s' is not supported: Tether serves HelmChart and OCIRepository references (use spec.chart for a HelmRepository or GitRepository)", ref.Kind)
		}
		if err := r.Tenancy.Reference(obj.Namespace, ref.Kind, ref.Namespace, ref.Name); err != nil {
			return nil, err
		}
		key = types.NamespacedName{Namespace: defaultNS(ref.Namespace, obj.Namespace), Name: ref.Name}
		if obj.Status.HelmChart != "" && (ref.Kind != sourcev1.HelmChartKind || obj.Status.HelmChart != key.String()) {
			r.deleteTemplateChart(ctx, obj)
		}
		obj.Status.HelmChart = ""
		if ref.Kind == sourcev1.HelmChartKind {
			obj.Status.HelmChart = key.String()
		}
	case obj.Spec.Chart != nil:
		var err error
		if key, err = r.ensureChart(ctx, obj); err != nil {
			return nil, err
		}
		obj.Status.HelmChart = key.String()
	default:
		return nil, fmt.Errorf("either chart or chartRef must be set")
	}
	kind := sourcev1.HelmChartKind
	if _, ok := src.(*sourcev1.OCIRepository); ok {
		kind = sourcev1.OCIRepositoryKind
	}
	if err := r.Client.Get(ctx, key, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &notReady{fmt.Sprintf("%s '%s' is not ready: not found", kind, key)}
		}
		return nil, fmt.Errorf("could not get Source object: %w", err)
	}
	if err := sourceReady(kind, key, src); err != nil {
		return nil, err
	}
	// Another replica may have made it (--shards auto).
	if a := src.GetArtifact(); r.Storage.Fetch(ctx, a.Path, a.URL, a.Digest) != nil {
		return nil, &notReady{fmt.Sprintf("%s '%s' is not ready: its artifact cannot be read", kind, key)}
	}
	return &chartArtifact{kind: kind, key: key, artifact: src.GetArtifact()}, nil
}

// sourceReady checks a source as Flux does: it must have observed its
// generation, not be stalled, be Ready and have an artifact; a failing
// source does not let an old artifact through.
func sourceReady(kind string, key types.NamespacedName, src sourceObject) error {
	ready := conditions.Get(src, meta.ReadyCondition)
	switch {
	case src.GetGeneration() != observedGeneration(src):
		return &notReady{fmt.Sprintf("%s '%s' is not ready: latest generation of object has not been reconciled", kind, key)}
	case conditions.IsTrue(src, meta.StalledCondition):
		return &notReady{fmt.Sprintf("%s '%s' is not ready: %s", kind, key, conditions.Get(src, meta.StalledCondition).Message)}
	case ready == nil || ready.Status != metav1.ConditionTrue:
		why := "not ready yet"
		if ready != nil {
			why = ready.Message
		}
		return &notReady{fmt.Sprintf("%s '%s' is not ready: %s", kind, key, why)}
	case src.GetArtifact() == nil:
		return &notReady{fmt.Sprintf("%s '%s' is not ready: does not have an artifact", kind, key)}
	}
	return nil
}

// ensureChart creates or updates the HelmChart that spec.chart describes:
// "<namespace>-<name>" in the source's namespace.
func (r *Reconciler) ensureChart(ctx context.Context, obj *helmv2.HelmRelease) (types.NamespacedName, error) {
	tpl := obj.Spec.Chart
	if tpl.Spec.SourceRef == nil {
		return types.NamespacedName{}, fmt.Errorf("spec.chart.spec.sourceRef must be set")
	}
	ref := tpl.Spec.SourceRef
	if err := r.Tenancy.Reference(obj.Namespace, ref.Kind, ref.Namespace, ref.Name); err != nil {
		return types.NamespacedName{}, err
	}
	key := types.NamespacedName{Namespace: chartNamespace(obj), Name: obj.GetChartTemplateName()}
	if obj.Status.HelmChart != "" && obj.Status.HelmChart != key.String() {
		r.deleteTemplateChart(ctx, obj)
	}
	interval := obj.Spec.Interval
	if tpl.Spec.Interval != nil {
		interval = *tpl.Spec.Interval
	}
	want := sourcev1.HelmChartSpec{
		Chart:   tpl.Spec.Chart,
		Version: tpl.Spec.GetVersion(),
		SourceRef: sourcev1.LocalHelmChartSourceReference{
			APIVersion: tpl.Spec.SourceRef.APIVersion, Kind: tpl.Spec.SourceRef.Kind, Name: tpl.Spec.SourceRef.Name,
		},
		Interval:                 interval,
		ReconcileStrategy:        tpl.Spec.GetReconcileStrategy(),
		ValuesFiles:              tpl.Spec.GetValuesFiles(),
		IgnoreMissingValuesFiles: tpl.Spec.IgnoreMissingValuesFiles,
	}
	labels := map[string]string{helmv2.NameLabel: obj.Name, helmv2.NamespaceLabel: obj.Namespace}
	var annotations map[string]string
	if m := tpl.ObjectMeta; m != nil {
		maps.Copy(labels, m.Labels)
		annotations = m.Annotations
	}
	chart := &sourcev1.HelmChart{}
	err := r.Client.Get(ctx, key, chart)
	switch {
	case apierrors.IsNotFound(err):
		chart = &sourcev1.HelmChart{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace, Labels: labels, Annotations: annotations},
			Spec:       want,
		}
		if err := r.Client.Create(ctx, chart); err != nil {
			return key, fmt.Errorf("create HelmChart '%s': %w", key, err)
		}
		r.event(obj, corev1.EventTypeNormal, "HelmChartCreated", fmt.Sprintf("Created HelmChart/%s with SourceRef '%s/%s/%s'",
			key, tpl.Spec.SourceRef.Kind, key.Namespace, tpl.Spec.SourceRef.Name))
		return key, nil
	case err != nil:
		return key, fmt.Errorf("get HelmChart '%s': %w", key, err)
	}
	if chart.Labels[helmv2.NameLabel] != obj.Name || chart.Labels[helmv2.NamespaceLabel] != obj.Namespace {
		return key, fmt.Errorf("HelmChart '%s' exists and was not made for this HelmRelease (it belongs to %s/%s): "+
			"two HelmReleases would share one chart", key, chart.Labels[helmv2.NamespaceLabel], chart.Labels[helmv2.NameLabel])
	}
	if equality.Semantic.DeepEqual(chart.Spec, want) && hasAll(chart.Labels, labels) && hasAll(chart.Annotations, annotations) {
		return key, nil
	}
	chart.Spec = want
	if chart.Labels == nil {
		chart.Labels = map[string]string{}
	}
	maps.Copy(chart.Labels, labels)
	if len(annotations) > 0 && chart.Annotations == nil {
		chart.Annotations = map[string]string{}
	}
	maps.Copy(chart.Annotations, annotations)
	if err := r.Client.Update(ctx, chart); err != nil {
		return key, fmt.Errorf("update HelmChart '%s': %w", key, err)
	}
	r.event(obj, corev1.EventTypeNormal, "HelmChartConfigured", fmt.Sprintf("Configured HelmChart/%s with SourceRef '%s/%s/%s'",
		key, tpl.Spec.SourceRef.Kind, key.Namespace, tpl.Spec.SourceRef.Name))
	return key, nil
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// deleteTemplateChart deletes the HelmChart recorded in status when this
// object made it (it carries the object's labels).
func (r *Reconciler) deleteTemplateChart(ctx context.Context, obj *helmv2.HelmRelease) {
	ns, name, ok := splitKey(obj.Status.HelmChart)
	if !ok {
		return
	}
	chart := &sourcev1.HelmChart{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, chart); err != nil {
		return
	}
	if chart.Labels[helmv2.NameLabel] != obj.Name || chart.Labels[helmv2.NamespaceLabel] != obj.Namespace {
		return
	}
	if err := r.Client.Delete(ctx, chart); err == nil {
		r.event(obj, corev1.EventTypeNormal, "HelmChartDeleted", fmt.Sprintf("deleted HelmChart '%s'", obj.Status.HelmChart))
	}
}

func splitKey(s string) (string, string, bool) {
	ns, name, ok := strings.Cut(s, "/")
	return ns, name, ok && ns != "" && name != ""
}

// loadChart reads the chart archive of the source's artifact. A chart
// from an OCIRepository gets the artifact's digest as the build metadata
// of its version (<version>+<first 12 hex digits>), as Flux does, so that
// a tag pushed again is a new revision; the digest is returned too.
func (r *Reconciler) loadChart(src *chartArtifact) (*helm.Chart, string, error) {
	data, err := r.Storage.ReadFile(src.artifact.Path, helm.DefaultMaxChartSize)
	if err != nil {
		return nil, "", err
	}
	ch, err := helm.LoadArchive(data)
	if err != nil || src.kind != sourcev1.OCIRepositoryKind {
		return ch, "", err
	}
	version, digest, err := ociChartVersion(ch.Metadata.Version, src.artifact.Revision)
	if err != nil {
		return nil, "", fmt.Errorf("OCIRepository '%s': %w", src.key, err)
	}
	ch.Metadata.Version = version
	return ch, digest, nil
}

// ociChartVersion checks that an OCIRepository revision ("<tag>@<digest>"
// or "<digest>") fits the chart's version and returns the version with
// the digest's first 12 hex digits as build metadata, and the digest.
func ociChartVersion(chartVersion, revision string) (string, string, error) {
	v, err := semver.NewVersion(chartVersion)
	if err != nil {
		return "", "", fmt.Errorf("chart version '%s' is not semver: %w", chartVersion, err)
	}
	tag, digest, hasTag := strings.Cut(revision, "@")
	if !hasTag {
		digest = revision
	} else if tv, err := semver.NewVersion(tag); err != nil || !tv.Equal(v) {
		return "", "", fmt.Errorf("artifact revision %s does not match chart version %s", tag, chartVersion)
	}
	_, hex, ok := strings.Cut(digest, ":")
	if !ok || len(hex) < 12 {
		return "", "", fmt.Errorf("invalid artifact revision %s", revision)
	}
	withDigest, err := v.SetMetadata(hex[:12])
	if err != nil {
		return "", "", err
	}
	return withDigest.String(), digest, nil
}

package helmrelease

import (
	"context"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

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

// chartSource returns the HelmChart whose artifact the release uses: the
// one made from spec.chart (created or updated here) or spec.chartRef.
func (r *Reconciler) chartSource(ctx context.Context, obj *helmv2.HelmRelease) (*sourcev1.HelmChart, error) {
	var key types.NamespacedName
	switch {
	case obj.Spec.ChartRef != nil:
		ref := obj.Spec.ChartRef
		if ref.Kind != sourcev1.HelmChartKind {
			return nil, fmt.Errorf("chartRef kind '%s' is not supported: Tether serves HelmChart references (use spec.chart for a HelmRepository or GitRepository)", ref.Kind)
		}
		if err := r.Tenancy.Reference(obj.Namespace, ref.Kind, ref.Namespace, ref.Name); err != nil {
			return nil, err
		}
		key = types.NamespacedName{Namespace: defaultNS(ref.Namespace, obj.Namespace), Name: ref.Name}
		if obj.Status.HelmChart != "" && obj.Status.HelmChart != key.String() {
			r.deleteTemplateChart(ctx, obj)
		}
	case obj.Spec.Chart != nil:
		var err error
		if key, err = r.ensureChart(ctx, obj); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("either chart or chartRef must be set")
	}
	obj.Status.HelmChart = key.String()
	chart := &sourcev1.HelmChart{}
	if err := r.Client.Get(ctx, key, chart); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &notReady{fmt.Sprintf("HelmChart '%s' is not ready: not found", key)}
		}
		return nil, fmt.Errorf("could not get Source object: %w", err)
	}
	// As Flux: the chart must have observed its generation, not be
	// stalled, be Ready and have an artifact; a failing HelmChart does not
	// let an old artifact through.
	ready := conditions.Get(chart, meta.ReadyCondition)
	switch {
	case chart.Generation != chart.Status.ObservedGeneration:
		return nil, &notReady{fmt.Sprintf("HelmChart '%s' is not ready: latest generation of object has not been reconciled", key)}
	case conditions.IsTrue(chart, meta.StalledCondition):
		return nil, &notReady{fmt.Sprintf("HelmChart '%s' is not ready: %s", key, conditions.Get(chart, meta.StalledCondition).Message)}
	case ready == nil || ready.Status != metav1.ConditionTrue:
		why := "not ready yet"
		if ready != nil {
			why = ready.Message
		}
		return nil, &notReady{fmt.Sprintf("HelmChart '%s' is not ready: %s", key, why)}
	case chart.Status.Artifact == nil:
		return nil, &notReady{fmt.Sprintf("HelmChart '%s' is not ready: does not have an artifact", key)}
	}
	// Another replica may have made it (--shards auto).
	if a := chart.Status.Artifact; r.Storage.Fetch(ctx, a.Path, a.URL, a.Digest) != nil {
		return nil, &notReady{fmt.Sprintf("HelmChart '%s' is not ready: its artifact cannot be read", key)}
	}
	return chart, nil
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

// loadChart reads the chart archive of the HelmChart's artifact.
func (r *Reconciler) loadChart(src *sourcev1.HelmChart) (*helm.Chart, error) {
	data, err := r.Storage.ReadFile(src.Status.Artifact.Path, helm.DefaultMaxChartSize)
	if err != nil {
		return nil, err
	}
	return helm.LoadArchive(data)
}

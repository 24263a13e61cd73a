package migrate

import (
	"encoding/json"
	"path"
	"reflect"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
)

// helmRelease turns a HelmRelease and its chart source into an
// Application. A Helm upgrade deletes what a chart no longer renders,
// hence prune.
func (m *toArgo) helmRelease() error {
	var hr helmv2.HelmRelease
	if err := m.doc.decode(&hr); err != nil {
		return err
	}
	if hr.Spec.ChartRef != nil {
		m.warn("spec.chartRef", "is not migrated: write the Application's chart source by hand (an OCIRepository becomes an oci:// repoURL with chart)")
		return nil
	}
	if hr.Spec.Chart == nil || hr.Spec.Chart.Spec.SourceRef == nil {
		return m.missing("spec.chart.spec.sourceRef")
	}
	m.newApp(hr.ObjectMeta)
	cs := hr.Spec.Chart.Spec
	ref := cs.SourceRef
	m.left.take("spec", "chart", "spec", "sourceRef")
	m.left.takeAll([]any{"spec", "chart", "spec"}, "chart", "version", "valuesFiles", "valuesFile", "ignoreMissingValuesFiles", "reconcileStrategy")
	s, err := m.source("spec.chart.spec.sourceRef", ref.Kind, ref.Namespace, ref.Name)
	if err != nil {
		return err
	}
	src := &argov1.ApplicationSource{Helm: &argov1.ApplicationSourceHelm{IgnoreMissingValueFiles: cs.IgnoreMissingValuesFiles}}
	chartDir := ""
	switch {
	case s.helm != nil:
		src.RepoURL, src.Chart, src.TargetRevision = s.helm.Spec.URL, cs.Chart, cs.GetVersion()
		src.Helm.PassCredentials = s.helm.Spec.PassCredentials
	case s.git != nil:
		chartDir = argoPath(cs.Chart)
		src.Path = chartDir
		m.gitOrOCI(s, src)
		if cs.GetReconcileStrategy() != helmv2.ReconcileStrategyRevision {
			m.warn("spec.chart.spec.reconcileStrategy", "is ChartVersion, but Argo CD renders the chart at every new commit")
		}
	default:
		return m.errorf("spec.chart.spec.sourceRef", "%s is not migrated; want a HelmRepository or GitRepository", s.doc.id())
	}
	src.Helm.ValueFiles = argoValueFiles(cs.GetValuesFiles(), chartDir)
	if hr.Spec.Values != nil && len(hr.Spec.Values.Raw) > 0 && string(hr.Spec.Values.Raw) != "null" {
		m.left.take("spec", "values")
		src.Helm.ValuesObject = &apiextensionsv1.JSON{Raw: append(json.RawMessage{}, hr.Spec.Values.Raw...)}
	}
	m.left.take("spec", "releaseName")
	if rn := hr.GetReleaseName(); rn != hr.Name {
		src.Helm.ReleaseName = rn
	}
	m.app.Spec.Source = src
	drift := hr.Spec.DriftDetection != nil && hr.Spec.DriftDetection.GetMode() == helmv2.DriftDetectionEnabled
	m.left.take("spec", "driftDetection", "mode")
	m.deploy(hr.Spec.Interval, hr.Spec.Suspend, true, drift, hr.Spec.TargetNamespace, hr.Spec.KubeConfig)
	m.installOptions(&hr)
	if chartDir == "" && reflect.ValueOf(*src.Helm).IsZero() {
		src.Helm = nil
	}
	m.finish()
	return nil
}

// argoValueFiles turns chart valuesFiles back into Argo CD value files:
// the chart's own values.yaml, which Argo CD always reads, is left out,
// and Git paths become relative to the chart directory.
func argoValueFiles(files []string, chartDir string) []string {
	var out []string
	for i, f := range files {
		f = path.Clean(strings.TrimPrefix(f, "./"))
		if i == 0 && f == path.Join(chartDir, "values.yaml") {
			continue
		}
		if chartDir != "" && chartDir != "." {
			f = relativeTo(chartDir, f)
		}
		out = append(out, f)
	}
	return out
}

// relativeTo returns the slash path target relative to dir.
func relativeTo(dir, target string) string {
	d, t := strings.Split(path.Clean(dir), "/"), strings.Split(path.Clean(target), "/")
	i := 0
	for i < len(d) && i < len(t)-1 && d[i] == t[i] {
		i++
	}
	return path.Join(append(append([]string{}, repeat("..", len(d)-i)...), t[i:]...)...)
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// installOptions carries install and upgrade settings over as helm
// options and sync options.
func (m *toArgo) installOptions(hr *helmv2.HelmRelease) {
	in, up := hr.Spec.Install, hr.Spec.Upgrade
	m.left.takeAll([]any{"spec", "upgrade"}, "crds", "serverSideApply")
	if in == nil {
		return
	}
	m.left.takeAll([]any{"spec", "install"}, "createNamespace", "crds", "skipCRDs", "serverSideApply")
	if in.CreateNamespace {
		m.syncOption(argov1.SyncOptionCreateNamespace)
	}
	if in.ServerSideApply != nil && *in.ServerSideApply {
		m.syncOption(argov1.SyncOptionServerSideApply)
	}
	h := m.app.Spec.Source.Helm
	h.SkipCrds = in.CRDs == helmv2.Skip || in.SkipCRDs
	if in.DisableSchemaValidation && (up == nil || up.DisableSchemaValidation) {
		h.SkipSchemaValidation = true
		m.left.take("spec", "install", "disableSchemaValidation")
		m.left.take("spec", "upgrade", "disableSchemaValidation")
	}
	if r := in.Remediation; r != nil && r.Retries != 0 {
		m.left.take("spec", "install", "remediation", "retries")
		if up != nil && up.Remediation != nil && up.Remediation.Retries == r.Retries {
			m.left.take("spec", "upgrade", "remediation", "retries")
		}
		if m.app.Spec.SyncPolicy == nil {
			m.app.Spec.SyncPolicy = &argov1.SyncPolicy{}
		}
		m.app.Spec.SyncPolicy.Retry = &argov1.RetryStrategy{Limit: int64(r.Retries)}
	}
}

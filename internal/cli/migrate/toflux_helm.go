package migrate

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/strvals"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// helmRepositoryChart writes a HelmRepository (type oci for OCI
// registries) and a HelmRelease for a chart from a chart repository.
func (m *toFlux) helmRepositoryChart(s sourceAt, name string) error {
	u, typ := s.src.RepoURL, ""
	if strings.HasPrefix(u, "oci://") || !strings.Contains(u, "://") {
		// Argo CD takes an OCI registry with or without the scheme.
		u, typ = "oci://"+strings.TrimPrefix(u, "oci://"), sourcev1.HelmRepositoryTypeOCI
	}
	key := "helm " + u
	repoName, seen := m.sources[key]
	if !seen {
		repoName = name
		m.sources[key] = name
		repo := &sourcev1.HelmRepository{
			TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.HelmRepositoryKind},
			ObjectMeta: m.objectMeta(name),
			Spec: sourcev1.HelmRepositorySpec{URL: u, Type: typ, Interval: metav1.Duration{Duration: m.o.SourceInterval},
				PassCredentials: s.src.Helm != nil && s.src.Helm.PassCredentials},
		}
		m.add(m.from()+"\nspec.interval matches Argo CD's default refresh of 3 minutes.", repo)
	}
	if s.src.Helm != nil {
		m.left.take(s.at("helm", "passCredentials")...)
	}
	chart := helmv2.HelmChartTemplateSpec{Chart: s.src.Chart, Version: s.src.TargetRevision,
		SourceRef: &helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: repoName}}
	if chart.Version == "*" {
		chart.Version = ""
	}
	return m.helmRelease(s, name, chart, "")
}

// gitChart writes a HelmRelease for a chart kept in a Git path. Flux
// builds a new chart on every commit (reconcileStrategy Revision), as
// Argo CD renders every revision.
func (m *toFlux) gitChart(s sourceAt, name, repo string) error {
	chart := helmv2.HelmChartTemplateSpec{Chart: fluxPath(s.src.Path), ReconcileStrategy: helmv2.ReconcileStrategyRevision,
		SourceRef: &helmv2.CrossNamespaceObjectReference{Kind: sourcev1.GitRepositoryKind, Name: repo}}
	return m.helmRelease(s, name, chart, argoPath(s.src.Path))
}

// helmRelease writes the HelmRelease of a chart source. chartDir is the
// chart's directory in the Git repository, or empty for a packaged chart.
func (m *toFlux) helmRelease(s sourceAt, name string, chart helmv2.HelmChartTemplateSpec, chartDir string) error {
	hr := &helmv2.HelmRelease{
		TypeMeta:   metav1.TypeMeta{APIVersion: helmv2.GroupVersion.String(), Kind: "HelmRelease"},
		ObjectMeta: m.objectMeta(name),
		Spec: helmv2.HelmReleaseSpec{
			Interval:        metav1.Duration{Duration: m.o.Interval},
			Suspend:         m.set.suspend,
			TargetNamespace: m.set.targetNamespace,
			KubeConfig:      m.set.kubeConfig,
			Install:         &helmv2.Install{CreateNamespace: m.set.createNamespace, CRDs: helmv2.Create},
			// Argo CD applies the chart's CRDs on every sync.
			Upgrade: &helmv2.Upgrade{CRDs: helmv2.CreateReplace},
		},
	}
	if m.set.selfHeal {
		hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled}
	}
	if m.set.serverSideApply {
		on := true
		hr.Spec.Install.ServerSideApply = &on
		hr.Spec.Upgrade.ServerSideApply = helmv2.ServerSideApplyEnabled
	}
	if l := m.set.retryLimit; l != nil {
		hr.Spec.Install.Remediation = &helmv2.InstallRemediation{Retries: int(*l)}
		hr.Spec.Upgrade.Remediation = &helmv2.UpgradeRemediation{Retries: int(*l)}
	}
	if m.set.retryInterval != nil {
		m.warn("spec.syncPolicy.retry.backoff.duration", "has no HelmRelease equivalent: Flux retries a failed release at the next interval")
	}
	if !m.set.prune && !m.set.suspend {
		m.warn("spec.syncPolicy.automated.prune", "is off, but a Helm upgrade deletes the objects a chart no longer renders")
	}
	if m.set.namespaceLabels != nil || m.set.namespaceAnnots != nil {
		m.warn("spec.syncPolicy.managedNamespaceMetadata", "has no HelmRelease equivalent: install.createNamespace creates a bare namespace")
		m.left.take("spec", "syncPolicy", "managedNamespaceMetadata")
	}
	if err := m.mapHelm(s, &hr.Spec, &chart, chartDir); err != nil {
		return err
	}
	// Flux names the release "<targetNamespace>-<name>" unless told; Argo
	// CD uses the Application name.
	if hr.Spec.ReleaseName == "" && hr.Spec.TargetNamespace != "" {
		hr.Spec.ReleaseName = m.app.Name
	}
	hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: chart}
	m.add(m.from(), hr)
	return nil
}

// mapHelm carries the helm options of a source over to the HelmRelease.
func (m *toFlux) mapHelm(s sourceAt, spec *helmv2.HelmReleaseSpec, chart *helmv2.HelmChartTemplateSpec, chartDir string) error {
	h := s.src.Helm
	if h == nil {
		return nil
	}
	at := s.at("helm")
	m.left.takeAll(at, "releaseName", "namespace", "skipCrds", "skipSchemaValidation", "ignoreMissingValueFiles", "skipTests")
	if h.ReleaseName != "" {
		spec.ReleaseName = h.ReleaseName
	}
	if h.Namespace != "" {
		spec.TargetNamespace = h.Namespace
	}
	if h.SkipCrds {
		spec.Install.CRDs, spec.Upgrade.CRDs = helmv2.Skip, helmv2.Skip
	}
	spec.Install.DisableSchemaValidation = h.SkipSchemaValidation
	spec.Upgrade.DisableSchemaValidation = h.SkipSchemaValidation
	chart.IgnoreMissingValuesFiles = h.IgnoreMissingValueFiles
	if v := strings.TrimPrefix(h.Version, "v"); v == "" || v == "3" {
		m.left.take(append(at, "version")...)
	}
	m.mapValueFiles(s, chart, chartDir)
	values, err := m.helmValues(s)
	if err != nil {
		return err
	}
	if len(values) > 0 {
		raw, err := json.Marshal(values)
		if err != nil {
			return m.errorf(s.field("helm", "values"), "%v", err)
		}
		spec.Values = &apiextensionsv1.JSON{Raw: raw}
	}
	return nil
}

// mapValueFiles turns value files into chart valuesFiles. Flux replaces
// the chart's values.yaml with the files listed and reads Git paths from
// the repository root, so the chart's own values.yaml comes first and
// paths are joined to the chart directory.
func (m *toFlux) mapValueFiles(s sourceAt, chart *helmv2.HelmChartTemplateSpec, chartDir string) {
	var files []string
	for i, f := range s.src.Helm.ValueFiles {
		if strings.HasPrefix(f, "$") || strings.Contains(f, "://") {
			m.warn(s.field("helm", "valueFiles", i), fmt.Sprintf("%q is outside the chart: Flux reads value files only from the chart's source (use valuesFrom with a ConfigMap or Secret)", f))
			m.left.take(s.at("helm", "valueFiles", i)...)
			continue
		}
		m.left.take(s.at("helm", "valueFiles", i)...)
		files = append(files, path.Join(chartDir, f))
	}
	if len(files) == 0 {
		return
	}
	base := path.Join(chartDir, "values.yaml")
	if files[0] != base {
		files = append([]string{base}, files...)
	}
	chart.ValuesFiles = files
}

// helmValues merges values (or valuesObject) and parameters the way Argo
// CD passes them to Helm: parameters win.
func (m *toFlux) helmValues(s sourceAt) (map[string]any, error) {
	h := s.src.Helm
	at := s.at("helm")
	values := map[string]any{}
	switch {
	case h.ValuesObject != nil && len(h.ValuesObject.Raw) > 0:
		m.left.take(append(at, "valuesObject")...)
		if err := json.Unmarshal(h.ValuesObject.Raw, &values); err != nil {
			return nil, m.errorf(s.field("helm", "valuesObject"), "not a map of values: %v", err)
		}
		if h.Values != "" {
			m.left.take(append(at, "values")...)
			m.warn(s.field("helm", "values"), "is ignored because valuesObject is set, as Argo CD does")
		}
	case h.Values != "":
		m.left.take(append(at, "values")...)
		if err := yaml.Unmarshal([]byte(h.Values), &values); err != nil {
			return nil, m.errorf(s.field("helm", "values"), "not a YAML map of values: %v", err)
		}
		if values == nil {
			values = map[string]any{}
		}
	}
	for i, p := range h.Parameters {
		set := p.Name + "=" + strings.ReplaceAll(p.Value, ",", `\,`)
		parse := strvals.ParseInto
		if p.ForceString {
			parse = strvals.ParseIntoString
		}
		if err := parse(set, values); err != nil {
			return nil, m.errorf(s.field("helm", "parameters", i), "%v", err)
		}
		m.left.take(s.at("helm", "parameters", i)...)
	}
	return values, nil
}

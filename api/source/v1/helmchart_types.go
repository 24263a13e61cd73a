package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// HelmChartKind is the kind name of HelmChart objects.
const HelmChartKind = "HelmChart"

// Values of HelmChartSpec.ReconcileStrategy.
const (
	// ReconcileStrategyChartVersion builds a new artifact only when the
	// chart's version changes. It is the default.
	ReconcileStrategyChartVersion = "ChartVersion"
	// ReconcileStrategyRevision builds a new artifact whenever the source's
	// revision changes.
	ReconcileStrategyRevision = "Revision"
)

// HelmChart condition reasons.
const (
	// ChartPullSucceededReason: the chart was pulled from its repository.
	ChartPullSucceededReason = "ChartPullSucceeded"

	// ChartPackageSucceededReason: the chart was packaged from a Git or
	// Bucket source.
	ChartPackageSucceededReason = "ChartPackageSucceeded"

	// LegacyChartPullFailedReason is the value v1beta1 controllers reported
	// for a failed pull.
	LegacyChartPullFailedReason = "ChartPullFailed"

	// LegacyChartPackageFailedReason is the value v1beta1 controllers
	// reported for a failed packaging.
	LegacyChartPackageFailedReason = "ChartPackageFailed"
)

// HelmChartSpec says which chart to fetch or package, from which source.
//
// NOTE: upstream v1 also rejects spec.verify unless sourceRef.kind is
// HelmRepository; v1beta2 had no such rule, so it is left out here.
type HelmChartSpec struct {
	// Chart is the chart's name in a HelmRepository, or its path in a
	// GitRepository or Bucket.
	// +required
	Chart string `json:"chart"`

	// Version is a semantic version range for the chart; the latest
	// version when not given. Ignored for Git and Bucket sources.
	// +kubebuilder:default:=*
	// +optional
	Version string `json:"version,omitempty"`

	// SourceRef names the source that holds the chart.
	// +required
	SourceRef LocalHelmChartSourceReference `json:"sourceRef"`

	// Interval between checks of the source for a new chart.
	//
	// NOTE: v1beta1 set no pattern here, so the pattern accepts every Go
	// duration.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +required
	Interval metav1.Duration `json:"interval"`

	// ReconcileStrategy says what change produces a new artifact.
	// +kubebuilder:validation:Enum=ChartVersion;Revision
	// +kubebuilder:default:=ChartVersion
	// +optional
	ReconcileStrategy string `json:"reconcileStrategy,omitempty"`

	// ValuesFiles lists values files, relative to the source, merged in
	// order (later wins) to replace the chart's default values.
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// ValuesFile is a single values file, merged before ValuesFiles.
	// Deprecated: use ValuesFiles (kept from v1beta1 and v1beta2).
	// +optional
	ValuesFile string `json:"valuesFile,omitempty"`

	// IgnoreMissingValuesFiles skips values files that do not exist instead
	// of failing.
	// +optional
	IgnoreMissingValuesFiles bool `json:"ignoreMissingValuesFiles,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AccessFrom is a cross-namespace access list that Flux declared but
	// never enforced (v1beta1 and v1beta2).
	// +optional
	AccessFrom *meta.AccessFrom `json:"accessFrom,omitempty"`

	// Verify turns on the signature check of charts pulled from an OCI
	// HelmRepository. Dependencies not bundled in the chart are not checked.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`
}

// LocalHelmChartSourceReference names the source of a HelmChart, in the
// chart's namespace.
type LocalHelmChartSourceReference struct {
	// APIVersion of the source.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the source.
	// +kubebuilder:validation:Enum=HelmRepository;GitRepository;Bucket
	// +required
	Kind string `json:"kind"`

	// Name of the source.
	// +required
	Name string `json:"name"`
}

// HelmChartStatus is what the controller last observed and produced for a
// HelmChart.
type HelmChartStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ObservedSourceArtifactRevision is the source artifact revision last
	// used.
	// +optional
	ObservedSourceArtifactRevision string `json:"observedSourceArtifactRevision,omitempty"`

	// ObservedChartName is the chart name last resolved.
	// +optional
	ObservedChartName string `json:"observedChartName,omitempty"`

	// ObservedValuesFiles are the values files that went into the current
	// artifact.
	// +optional
	ObservedValuesFiles []string `json:"observedValuesFiles,omitempty"`

	// Conditions describe the state of the object.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is where the latest chart artifact can be downloaded; prefer
	// Artifact.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the packaged chart of the last successful reconcile.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=hc,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Chart",type=string,JSONPath=`.spec.chart`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Source Kind",type=string,JSONPath=`.spec.sourceRef.kind`
// +kubebuilder:printcolumn:name="Source Name",type=string,JSONPath=`.spec.sourceRef.name`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// HelmChart is a Flux source that pulls a Helm chart from a HelmRepository,
// or packages one found in a GitRepository or Bucket, and publishes it as
// an artifact.
type HelmChart struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec HelmChartSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status HelmChartStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *HelmChart) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmChart) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next check.
func (in *HelmChart) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetArtifact returns the current artifact, or nil.
func (in *HelmChart) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetValuesFiles returns the values files to merge, in order: the
// deprecated ValuesFile first when set, then ValuesFiles.
func (in *HelmChart) GetValuesFiles() []string {
	if in.Spec.ValuesFile == "" {
		return in.Spec.ValuesFiles
	}
	files := make([]string, 0, len(in.Spec.ValuesFiles)+1)
	files = append(files, in.Spec.ValuesFile)
	return append(files, in.Spec.ValuesFiles...)
}

// HelmChartList is a list of HelmChart objects.
// +kubebuilder:object:root=true
type HelmChartList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelmChart `json:"items"`
}

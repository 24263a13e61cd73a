package v2

import (
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
)

// NOTE: v2 and v2beta2 require exactly one of chart and chartRef, while
// v2beta1 requires chart and accepts chartRef beside it. The rule on
// HelmReleaseSpec is the union of both: at least one of them.

// HelmReleaseSpec says which chart to release, with which values, and how
// each Helm action is run and its failures handled.
//
// It is the union of the v2, v2beta2 and v2beta1 specs, so fields that only
// older versions know (such as chart.spec.valuesFile and the deprecated
// post-renderer patch lists) survive storage.
//
// +kubebuilder:validation:XValidation:rule="has(self.chart) || has(self.chartRef)", message="either chart or chartRef must be set"
type HelmReleaseSpec struct {
	// Chart is the template of the source object the engine creates to
	// fetch the chart.
	// +optional
	Chart *HelmChartTemplate `json:"chart,omitempty"`

	// ChartRef names an existing source object that provides the chart.
	// +optional
	ChartRef *CrossNamespaceSourceReference `json:"chartRef,omitempty"`

	// Interval is how often the release is reconciled.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// KubeConfig points at the credentials of a remote cluster to release
	// to. Together with ServiceAccountName, the engine impersonates that
	// account in the remote cluster.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// Suspend stops future reconciliations; one already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// ReleaseName is the Helm release name; defaults to
	// "[<targetNamespace>-]<name>".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=53
	// +kubebuilder:validation:Optional
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// TargetNamespace is the namespace the chart is released into; defaults
	// to the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Optional
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// StorageNamespace is the namespace holding the Helm storage; defaults
	// to the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Optional
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// DependsOn lists HelmReleases that must be ready before this one is
	// reconciled.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// Timeout bounds each Kubernetes operation of a Helm action, such as
	// hook Jobs; defaults to 5m0s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// MaxHistory is how many Helm revisions to keep; 0 keeps all. Defaults
	// to 5.
	// +optional
	MaxHistory *int `json:"maxHistory,omitempty"`

	// NOTE: v2beta1 put no length limits on serviceAccountName (v2 allows 1
	// to 253 characters), so none are enforced.

	// ServiceAccountName is the service account, in the HelmRelease's
	// namespace, that the engine impersonates.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// PersistentClient reuses one Kubernetes client for a whole
	// reconciliation instead of one per Helm action; defaults to true. Turn
	// it off for charts that create CRDs outside Helm's CRD handling.
	// +optional
	PersistentClient *bool `json:"persistentClient,omitempty"`

	// DriftDetection configures detecting and correcting changes made to the
	// released objects outside Helm.
	// +optional
	DriftDetection *DriftDetection `json:"driftDetection,omitempty"`

	// Install configures Helm install actions.
	// +optional
	Install *Install `json:"install,omitempty"`

	// Upgrade configures Helm upgrade actions.
	// +optional
	Upgrade *Upgrade `json:"upgrade,omitempty"`

	// Test configures Helm test actions.
	// +optional
	Test *Test `json:"test,omitempty"`

	// Rollback configures Helm rollback actions.
	// +optional
	Rollback *Rollback `json:"rollback,omitempty"`

	// Uninstall configures Helm uninstall actions.
	// +optional
	Uninstall *Uninstall `json:"uninstall,omitempty"`

	// ValuesFrom names ConfigMaps and Secrets whose values are merged, in
	// order, before Values.
	// +optional
	ValuesFrom []meta.ValuesReference `json:"valuesFrom,omitempty"`

	// Values are the chart values, merged last.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// CommonMetadata holds labels and annotations added to every released
	// object, replacing any existing value under the same key.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// PostRenderers transform the rendered manifests, in order, before they
	// are applied.
	// +optional
	PostRenderers []PostRenderer `json:"postRenderers,omitempty"`

	// PostRenderStrategy decides whether hooks go through the post-renderers:
	// nohooks (not at all), combined (with the templates) or separate (in
	// their own stream). Defaults to combined.
	// +kubebuilder:validation:Enum=nohooks;combined;separate
	// +optional
	PostRenderStrategy PostRenderStrategy `json:"postRenderStrategy,omitempty"`

	// WaitStrategy chooses how Helm waits for released objects to be ready.
	// +optional
	WaitStrategy *WaitStrategy `json:"waitStrategy,omitempty"`

	// HealthCheckExprs adds CEL health rules for custom resources; they are
	// used when the action waits with the poller strategy.
	// +optional
	HealthCheckExprs []kustomizev1.CustomHealthCheck `json:"healthCheckExprs,omitempty"`
}

// CommonMetadata holds labels and annotations to add to every released
// object.
type CommonMetadata struct {
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// PostRenderer is one transformation of the rendered manifests.
type PostRenderer struct {
	// Kustomize patches the manifests with Kustomize.
	// +optional
	Kustomize *Kustomize `json:"kustomize,omitempty"`
}

// Kustomize is a Kustomize post-renderer.
type Kustomize struct {
	// Patches are inline strategic merge or JSON 6902 patches, each applied
	// to the objects its target selects.
	// +optional
	Patches []kustomizev1.Patch `json:"patches,omitempty"`

	// PatchesStrategicMerge are inline strategic merge patches, as accepted
	// by v2beta1 and v2beta2. Deprecated: use Patches.
	// +optional
	PatchesStrategicMerge []apiextensionsv1.JSON `json:"patchesStrategicMerge,omitempty"`

	// PatchesJSON6902 are structured JSON 6902 patches, as accepted by
	// v2beta1 and v2beta2. Deprecated: use Patches.
	// +optional
	PatchesJSON6902 []kustomizev1.JSON6902Patch `json:"patchesJson6902,omitempty"`

	// Images overrides image names, tags or digests in the manifests.
	// +optional
	Images []kustomizev1.Image `json:"images,omitempty"`
}

// PostRenderStrategy decides how Helm hooks are passed to post-renderers.
type PostRenderStrategy string

const (
	// PostRenderStrategyNoHooks does not post-render hooks (Helm 3).
	PostRenderStrategyNoHooks PostRenderStrategy = "nohooks"
	// PostRenderStrategyCombined post-renders hooks together with the
	// templates (Helm 4).
	PostRenderStrategyCombined PostRenderStrategy = "combined"
	// PostRenderStrategySeparate post-renders hooks in a stream of their own.
	PostRenderStrategySeparate PostRenderStrategy = "separate"
)

// DriftDetectionMode decides what the engine does about released objects
// that differ from the release manifest.
type DriftDetectionMode string

const (
	// DriftDetectionEnabled detects drift and corrects it with an upgrade.
	DriftDetectionEnabled DriftDetectionMode = "enabled"
	// DriftDetectionWarn detects drift and only reports it.
	DriftDetectionWarn DriftDetectionMode = "warn"
	// DriftDetectionDisabled does not look for drift. It is the default.
	DriftDetectionDisabled DriftDetectionMode = "disabled"
)

// DriftDetection configures drift detection.
type DriftDetection struct {
	// Mode of drift detection; defaults to disabled.
	// +kubebuilder:validation:Enum=enabled;warn;disabled
	// +optional
	Mode DriftDetectionMode `json:"mode,omitempty"`

	// Ignore lists fields whose changes are not drift.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// GetMode returns Mode, or disabled when unset.
func (in DriftDetection) GetMode() DriftDetectionMode {
	if in.Mode == "" {
		return DriftDetectionDisabled
	}
	return in.Mode
}

// IgnoreRule names fields, by JSON pointer, whose changes drift detection
// leaves alone on some or all objects.
type IgnoreRule struct {
	// Paths are RFC 6901 JSON pointers to the fields to ignore.
	// +required
	Paths []string `json:"paths"`

	// Target selects the objects the rule covers; all objects when empty.
	// +optional
	Target *kustomizev1.Selector `json:"target,omitempty"`
}

// WaitStrategyName names a way of waiting for released objects.
type WaitStrategyName string

const (
	// WaitStrategyPoller polls object status with kstatus.
	WaitStrategyPoller WaitStrategyName = "poller"
	// WaitStrategyLegacy uses Helm 3's waiting logic.
	WaitStrategyLegacy WaitStrategyName = "legacy"
)

// WaitStrategy chooses how Helm waits for released objects to be ready.
type WaitStrategy struct {
	// Name of the strategy; defaults to poller.
	// +kubebuilder:validation:Enum=poller;legacy
	// +required
	Name WaitStrategyName `json:"name"`
}

// HelmRelease releases a Helm chart from a Flux source into the cluster and
// keeps the release in the desired state.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=hr,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type HelmRelease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec HelmReleaseSpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default:={"observedGeneration":-1}
	Status HelmReleaseStatus `json:"status,omitempty"`
}

// HelmReleaseList is a list of HelmReleases.
//
// +kubebuilder:object:root=true
type HelmReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the HelmReleases.
	Items []HelmRelease `json:"items"`
}

// defaultMaxHistory is the number of Helm revisions kept when
// spec.maxHistory is unset.
const defaultMaxHistory = 5

// GetConditions returns status.conditions.
func (in *HelmRelease) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces status.conditions.
func (in *HelmRelease) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next reconciliation.
func (in *HelmRelease) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetReleaseName returns spec.releaseName, or "[<targetNamespace>-]<name>".
func (in *HelmRelease) GetReleaseName() string {
	switch {
	case in.Spec.ReleaseName != "":
		return in.Spec.ReleaseName
	case in.Spec.TargetNamespace != "":
		return in.Spec.TargetNamespace + "-" + in.Name
	default:
		return in.Name
	}
}

// GetReleaseNamespace returns spec.targetNamespace, or the HelmRelease's
// namespace.
func (in *HelmRelease) GetReleaseNamespace() string {
	if in.Spec.TargetNamespace != "" {
		return in.Spec.TargetNamespace
	}
	return in.Namespace
}

// GetStorageNamespace returns spec.storageNamespace, or the HelmRelease's
// namespace.
func (in *HelmRelease) GetStorageNamespace() string {
	if in.Spec.StorageNamespace != "" {
		return in.Spec.StorageNamespace
	}
	return in.Namespace
}

// GetTimeout returns spec.timeout, or five minutes.
func (in *HelmRelease) GetTimeout() metav1.Duration {
	return timeoutOr(in.Spec.Timeout, metav1.Duration{Duration: 5 * time.Minute})
}

// GetMaxHistory returns spec.maxHistory, or 5.
func (in *HelmRelease) GetMaxHistory() int {
	if in.Spec.MaxHistory == nil {
		return defaultMaxHistory
	}
	return *in.Spec.MaxHistory
}

// UsePersistentClient returns spec.persistentClient, or true.
func (in *HelmRelease) UsePersistentClient() bool {
	return in.Spec.PersistentClient == nil || *in.Spec.PersistentClient
}

// GetDependsOn returns spec.dependsOn.
func (in *HelmRelease) GetDependsOn() []meta.DependencyReference {
	return in.Spec.DependsOn
}

// GetChartTemplateName returns the name the engine gives to the source
// object generated from spec.chart: "<namespace>-<name>".
func (in *HelmRelease) GetChartTemplateName() string {
	return strings.Join([]string{in.Namespace, in.Name}, "-")
}

// GetInstall returns spec.install, or its zero value.
func (in *HelmRelease) GetInstall() Install {
	if in.Spec.Install == nil {
		return Install{}
	}
	return *in.Spec.Install
}

// GetUpgrade returns spec.upgrade, or its zero value.
func (in *HelmRelease) GetUpgrade() Upgrade {
	if in.Spec.Upgrade == nil {
		return Upgrade{}
	}
	return *in.Spec.Upgrade
}

// GetTest returns spec.test, or its zero value.
func (in *HelmRelease) GetTest() Test {
	if in.Spec.Test == nil {
		return Test{}
	}
	return *in.Spec.Test
}

// GetRollback returns spec.rollback, or its zero value.
func (in *HelmRelease) GetRollback() Rollback {
	if in.Spec.Rollback == nil {
		return Rollback{}
	}
	return *in.Spec.Rollback
}

// GetUninstall returns spec.uninstall, or its zero value.
func (in *HelmRelease) GetUninstall() Uninstall {
	if in.Spec.Uninstall == nil {
		return Uninstall{}
	}
	return *in.Spec.Uninstall
}

// GetDriftDetection returns spec.driftDetection, or its zero value.
func (in *HelmRelease) GetDriftDetection() DriftDetection {
	if in.Spec.DriftDetection == nil {
		return DriftDetection{}
	}
	return *in.Spec.DriftDetection
}

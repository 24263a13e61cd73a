package v1

import (
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// KustomizationSpec says which source directory to build with Kustomize,
// how to transform the result, and how to apply, check and prune it.
//
// It is the union of the v1, v1beta2 and v1beta1 specs: fields that only
// older versions know (validation, patchesStrategicMerge, patchesJson6902)
// are kept so that they survive storage, even where the engine ignores them.
type KustomizationSpec struct {
	// CommonMetadata holds labels and annotations added to every applied
	// object, replacing any existing value under the same key.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// DependsOn lists Kustomizations that must be ready before this one is
	// reconciled.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// Decryption configures the decryption of encrypted Secrets found in the
	// manifests before they are applied.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// NOTE: v1beta1 put no pattern on interval, retryInterval and timeout;
	// v1 and v1beta2 use ^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$. We accept exactly
	// what Go's time.ParseDuration accepts: every value any version took
	// still works, and a value no controller can decode (CVE-2022-39272)
	// is refused by the API server instead of breaking list decoding.

	// Interval is how often the Kustomization is reconciled.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +required
	Interval metav1.Duration `json:"interval"`

	// RetryInterval is how soon a failed reconciliation is retried; it
	// defaults to Interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// KubeConfig points at the credentials of a remote cluster to apply to.
	// Together with ServiceAccountName, the engine impersonates that account
	// in the remote cluster. In v1beta1 only secretRef.name was accepted.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// Path to the directory in the source artifact that holds the
	// kustomization.yaml or the plain manifests; defaults to the root.
	// +optional
	Path string `json:"path,omitempty"`

	// PostBuild describes what to do with the built manifests before they
	// are applied, such as variable substitution.
	// +optional
	PostBuild *PostBuild `json:"postBuild,omitempty"`

	// Prune deletes objects that were applied before but are no longer
	// in the built manifests.
	// +required
	Prune bool `json:"prune"`

	// DeletionPolicy says what happens to the applied objects when the
	// Kustomization is deleted; defaults to MirrorPrune, which follows Prune.
	// +kubebuilder:validation:Enum=MirrorPrune;Delete;WaitForTermination;Orphan
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// HealthChecks lists objects whose health decides the Ready condition.
	// +optional
	HealthChecks []meta.NamespacedObjectKindReference `json:"healthChecks,omitempty"`

	// NamePrefix is prepended to the names of all applied objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Optional
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to the names of all applied objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Optional
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// Patches are inline strategic merge or JSON 6902 patches, each applied
	// to the objects its target selects.
	// +optional
	Patches []Patch `json:"patches,omitempty"`

	// PatchesStrategicMerge are inline strategic merge patches, as accepted
	// by v1beta1 and v1beta2. Deprecated: use Patches.
	// +optional
	PatchesStrategicMerge []apiextensionsv1.JSON `json:"patchesStrategicMerge,omitempty"`

	// PatchesJSON6902 are structured JSON 6902 patches, as accepted by
	// v1beta1 and v1beta2. Deprecated: use Patches.
	// +optional
	PatchesJSON6902 []JSON6902Patch `json:"patchesJson6902,omitempty"`

	// Images overrides image names, tags or digests in the manifests.
	// +optional
	Images []Image `json:"images,omitempty"`

	// ServiceAccountName is the service account, in the Kustomization's
	// namespace, that the engine impersonates when applying.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// SourceRef names the source object whose artifact holds the manifests.
	// +required
	SourceRef CrossNamespaceSourceReference `json:"sourceRef"`

	// Suspend stops future reconciliations; one already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// TargetNamespace sets the namespace of all namespaced objects,
	// overriding the one in kustomization.yaml.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Optional
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// Timeout bounds the apply, validation and health check steps; it
	// defaults to Interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Validation is the v1beta1 and v1beta2 dry-run validation mode. Newer
	// engines always validate on the server and ignore it.
	// +kubebuilder:validation:Enum=none;client;server
	// +optional
	Validation string `json:"validation,omitempty"`

	// Force recreates objects whose update fails because an immutable field
	// changed.
	// +kubebuilder:default:=false
	// +optional
	Force bool `json:"force,omitempty"`

	// Wait makes every applied object part of the health assessment;
	// HealthChecks is then not used.
	// +optional
	Wait bool `json:"wait,omitempty"`

	// BuildMetadata lists the Kustomize build annotations to keep on the
	// applied objects.
	// +optional
	BuildMetadata []BuildMetadataOption `json:"buildMetadata,omitempty"`

	// Components lists paths, relative to Path, of Kustomize components to
	// include in the build.
	// +optional
	Components []string `json:"components,omitempty"`

	// IgnoreMissingComponents drops entries of Components that do not exist
	// in the source instead of failing the build.
	// +optional
	IgnoreMissingComponents bool `json:"ignoreMissingComponents,omitempty"`

	// HealthCheckExprs adds CEL health rules for custom resources; they are
	// used only when Wait or HealthChecks is set.
	// +optional
	HealthCheckExprs []CustomHealthCheck `json:"healthCheckExprs,omitempty"`

	// Ignore lists fields that drift detection and apply leave alone.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// BuildMetadataOption names a kind of Kustomize build annotation.
// +kubebuilder:validation:Enum=originAnnotations;transformerAnnotations
type BuildMetadataOption string

const (
	// BuildMetadataOriginAnnotations keeps the annotations that record which
	// file each object came from.
	BuildMetadataOriginAnnotations BuildMetadataOption = "originAnnotations"
	// BuildMetadataTransformerAnnotations keeps the annotations that record
	// which transformers changed each object.
	BuildMetadataTransformerAnnotations BuildMetadataOption = "transformerAnnotations"
)

// CommonMetadata holds labels and annotations to add to every applied object.
type CommonMetadata struct {
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// IgnoreRule names fields, by JSON pointer, that drift detection and apply
// should leave alone on some or all objects.
type IgnoreRule struct {
	// Paths are RFC 6901 JSON pointers to the fields to ignore.
	// +required
	Paths []string `json:"paths"`

	// Target selects the objects the rule covers; all objects when empty.
	// +optional
	Target *Selector `json:"target,omitempty"`
}

// Decryption configures how encrypted Secrets in the manifests are
// decrypted.
type Decryption struct {
	// Provider is the decryption engine.
	// +kubebuilder:validation:Enum=sops
	// +required
	Provider string `json:"provider"`

	// ServiceAccountName is the service account used to reach a cloud key
	// management service without static credentials. Static credentials in
	// SecretRef win over it.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// SecretRef names a Secret holding private keys or cloud credentials for
	// decryption.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// SubstituteStrategy decides when post-build variable substitution runs.
type SubstituteStrategy string

const (
	// SubstituteStrategyWithVariables substitutes only when at least one
	// variable is defined. It is the default.
	SubstituteStrategyWithVariables SubstituteStrategy = "WithVariables"
	// SubstituteStrategyAlways substitutes even with no variables defined,
	// so that defaults such as ${var:=value} take effect.
	SubstituteStrategyAlways SubstituteStrategy = "Always"
)

// PostBuild describes what to do with the built manifests before applying.
type PostBuild struct {
	// SubstituteStrategy decides when substitution runs; defaults to
	// WithVariables.
	// +kubebuilder:validation:Enum=WithVariables;Always
	// +optional
	SubstituteStrategy SubstituteStrategy `json:"substituteStrategy,omitempty"`

	// Substitute maps variable names to values; ${name} references in the
	// manifests are replaced, with bash-like defaults and string operations.
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// SubstituteFrom names ConfigMaps and Secrets whose data keys and values
	// are used as further variables.
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret that holds substitution
// variables.
type SubstituteReference struct {
	// Kind of the referent.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the referent, in the Kustomization's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Optional treats a missing referent as empty instead of an error.
	// +kubebuilder:default:=false
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// CrossNamespaceSourceReference names the source object a Kustomization
// builds from, possibly in another namespace.
type CrossNamespaceSourceReference struct {
	// APIVersion of the referent.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent.
	// +kubebuilder:validation:Enum=OCIRepository;GitRepository;Bucket;ExternalArtifact
	// +required
	Kind string `json:"kind"`

	// Name of the referent.
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the Kustomization's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String returns "Kind/name" or "Kind/namespace/name".
func (in CrossNamespaceSourceReference) String() string {
	if in.Namespace == "" {
		return fmt.Sprintf("%s/%s", in.Kind, in.Name)
	}
	return fmt.Sprintf("%s/%s/%s", in.Kind, in.Namespace, in.Name)
}

// KustomizationStatus is what the engine last observed and did.
type KustomizationStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the current state of the Kustomization.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastAppliedRevision is the source revision last applied successfully.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastAppliedOriginRevision is the origin revision, taken from the
	// artifact metadata, of the last successful apply.
	// +optional
	LastAppliedOriginRevision string `json:"lastAppliedOriginRevision,omitempty"`

	// LastAttemptedRevision is the source revision of the last attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// Inventory lists the objects applied by the last successful apply.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	// Snapshot is the v1beta1 record of the applied objects.
	// +optional
	Snapshot *Snapshot `json:"snapshot,omitempty"`

	// History records the most recent reconciliations, newest first.
	// +optional
	History History `json:"history,omitempty"`
}

// Kustomization builds a directory of a Flux source artifact with Kustomize
// and applies the result to the cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ks,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type Kustomization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec KustomizationSpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default:={"observedGeneration":-1}
	Status KustomizationStatus `json:"status,omitempty"`
}

// KustomizationList is a list of Kustomizations.
//
// +kubebuilder:object:root=true
type KustomizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Kustomizations.
	Items []Kustomization `json:"items"`
}

// GetConditions returns status.conditions.
func (in *Kustomization) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces status.conditions.
func (in *Kustomization) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next reconciliation.
func (in *Kustomization) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetRetryInterval returns how long to wait before retrying a failure:
// spec.retryInterval, or spec.interval when unset.
func (in *Kustomization) GetRetryInterval() time.Duration {
	if in.Spec.RetryInterval != nil {
		return in.Spec.RetryInterval.Duration
	}
	return in.GetRequeueAfter()
}

// GetTimeout returns spec.timeout, or 30 seconds less than spec.interval
// when unset, and never less than 30 seconds.
func (in *Kustomization) GetTimeout() time.Duration {
	const floor = 30 * time.Second
	d := in.Spec.Interval.Duration - floor
	if in.Spec.Timeout != nil {
		d = in.Spec.Timeout.Duration
	}
	if d < floor {
		return floor
	}
	return d
}

// GetDeletionPolicy returns spec.deletionPolicy, or MirrorPrune when unset.
func (in *Kustomization) GetDeletionPolicy() string {
	if in.Spec.DeletionPolicy == "" {
		return DeletionPolicyMirrorPrune
	}
	return in.Spec.DeletionPolicy
}

// GetSubstituteStrategy returns the post-build substitution strategy, or
// WithVariables when unset.
func (in *Kustomization) GetSubstituteStrategy() SubstituteStrategy {
	if in.Spec.PostBuild == nil || in.Spec.PostBuild.SubstituteStrategy == "" {
		return SubstituteStrategyWithVariables
	}
	return in.Spec.PostBuild.SubstituteStrategy
}

// GetDependsOn returns spec.dependsOn.
func (in *Kustomization) GetDependsOn() []meta.DependencyReference {
	return in.Spec.DependsOn
}

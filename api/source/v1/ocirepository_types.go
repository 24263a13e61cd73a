package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// OCIRepositoryKind is the kind name of OCIRepository objects.
const OCIRepositoryKind = "OCIRepository"

// OCIRepositoryPrefix is the scheme prefix every OCIRepository URL has.
const OCIRepositoryPrefix = "oci://"

// Values of OCIRepositorySpec.Provider.
const (
	// GenericOCIProvider authenticates with static credentials from
	// spec.secretRef or the ServiceAccount's image pull secrets. It is what
	// an empty provider means.
	GenericOCIProvider = "generic"
	// AmazonOCIProvider authenticates to Amazon ECR with the workload's AWS
	// identity.
	AmazonOCIProvider = "aws"
	// GoogleOCIProvider authenticates to Google registries with the
	// workload's GCP identity.
	GoogleOCIProvider = "gcp"
	// AzureOCIProvider authenticates to Azure Container Registry with the
	// workload's Azure identity.
	AzureOCIProvider = "azure"
)

// Values of OCILayerSelector.Operation.
const (
	// OCILayerExtract unpacks the selected layer's tarball into the
	// artifact. It is the default.
	OCILayerExtract = "extract"
	// OCILayerCopy stores the selected layer's compressed content as it is.
	OCILayerCopy = "copy"
)

// OCIRepository condition reasons.
const (
	// OCIPullFailedReason: pulling the OCI artifact failed.
	OCIPullFailedReason = "OCIArtifactPullFailed"

	// OCILayerOperationFailedReason: extracting or copying the selected
	// layer failed.
	OCILayerOperationFailedReason = "OCIArtifactLayerOperationFailed"
)

// OCIRepositorySpec says which OCI artifact to pull and how.
//
// NOTE: upstream v1beta2 marks url and interval as required fields while
// upstream v1 leaves them optional in the schema and enforces them with
// rules. The rules are kept on the spec, so that both versions refuse a
// spec without them.
//
// +kubebuilder:validation:XValidation:rule="has(self.url)",message="spec.url is required"
// +kubebuilder:validation:XValidation:rule="has(self.interval)",message="spec.interval is required"
type OCIRepositorySpec struct {
	// URL of the repository in a registry, such as
	// oci://ghcr.io/org/manifests.
	// +kubebuilder:validation:Pattern="^oci://.*$"
	// +optional
	URL string `json:"url,omitempty"`

	// Reference selects the artifact to pull; the "latest" tag when not
	// given.
	// +optional
	Reference *OCIRepositoryRef `json:"ref,omitempty"`

	// LayerSelector picks the layer to use; the first layer when not given.
	// +optional
	LayerSelector *OCILayerSelector `json:"layerSelector,omitempty"`

	// Provider selects how to authenticate; empty means generic.
	//
	// NOTE: v1beta2 defaulted this to generic, v1 (the storage version)
	// does not; GetProvider treats empty as generic.
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +optional
	Provider string `json:"provider,omitempty"`

	// SecretRef names a Secret of type kubernetes.io/dockerconfigjson with
	// the registry credentials.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Verify turns on the signature check of the artifact.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`

	// ServiceAccountName is the ServiceAccount whose image pull secrets or
	// cloud identity are used to authenticate.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret (type Opaque or kubernetes.io/tls) with a
	// client certificate and key ("tls.crt", "tls.key") and/or a CA
	// certificate ("ca.crt") for the registry connection.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy settings for reaching the
	// registry.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Interval between checks of the registry for a new artifact.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of registry operations such as pulling; 60s when not given.
	//
	// NOTE: v1beta2 defaulted this to 60s in the schema, v1 (the storage
	// version) does not; GetTimeout applies 60s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Ignore holds exclusion patterns in .gitignore syntax that replace the
	// default ones when packing the artifact.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Insecure allows plain-HTTP registries.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// OCIRepositoryRef selects the artifact to pull. Digest wins over SemVer,
// and SemVer over Tag.
type OCIRepositoryRef struct {
	// Digest of the artifact, as "sha256:<hex>".
	// +optional
	Digest string `json:"digest,omitempty"`

	// SemVer is a semantic version range; the highest matching tag is
	// pulled.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// SemverFilter is a regular expression that tags must match to be
	// considered for SemVer.
	// +optional
	SemverFilter string `json:"semverFilter,omitempty"`

	// Tag to pull; "latest" when nothing is set.
	// +optional
	Tag string `json:"tag,omitempty"`
}

// OCILayerSelector picks one layer of an OCI artifact and says what to do
// with it.
type OCILayerSelector struct {
	// MediaType selects the first layer of this media type.
	// +optional
	MediaType string `json:"mediaType,omitempty"`

	// Operation is what to do with the layer: extract (the default) or
	// copy it unchanged.
	// +kubebuilder:validation:Enum=extract;copy
	// +optional
	Operation string `json:"operation,omitempty"`
}

// OCIRepositoryStatus is what the controller last observed and produced for
// an OCIRepository.
type OCIRepositoryStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the state of the object.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is where the latest artifact can be downloaded; prefer Artifact.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the artifact of the last successful reconcile.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// ContentConfigChecksum was v1beta2's digest of the settings that shape
	// the artifact's content. Deprecated: replaced by the observed* fields.
	// +optional
	ContentConfigChecksum string `json:"contentConfigChecksum,omitempty"`

	// ObservedIgnore is the spec.ignore value used for Artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedLayerSelector is the spec.layerSelector value used for
	// Artifact.
	// +optional
	ObservedLayerSelector *OCILayerSelector `json:"observedLayerSelector,omitempty"`

	// SourceVerificationFingerprint identifies the verification material
	// that verified the current artifact, so that a change of it triggers a
	// new verification.
	// +optional
	SourceVerificationFingerprint string `json:"sourceVerificationFingerprint,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ocirepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// OCIRepository is a Flux source that pulls an artifact from an OCI
// registry and publishes its content as an artifact.
type OCIRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec OCIRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status OCIRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *OCIRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *OCIRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next check, zero when
// no interval is set.
func (in *OCIRepository) GetRequeueAfter() time.Duration {
	if in.Spec.Interval == nil {
		return 0
	}
	return in.Spec.Interval.Duration
}

// GetArtifact returns the current artifact, or nil.
func (in *OCIRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetProvider returns the authentication provider, GenericOCIProvider when
// none is set.
func (in *OCIRepository) GetProvider() string {
	if in.Spec.Provider == "" {
		return GenericOCIProvider
	}
	return in.Spec.Provider
}

// GetTimeout returns the timeout of registry operations, 60s when none is
// set.
func (in *OCIRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil {
		return 60 * time.Second
	}
	return in.Spec.Timeout.Duration
}

// GetLayerMediaType returns the media type of the layer selector, or "".
func (in *OCIRepository) GetLayerMediaType() string {
	if in.Spec.LayerSelector == nil {
		return ""
	}
	return in.Spec.LayerSelector.MediaType
}

// GetLayerOperation returns the layer operation, OCILayerExtract when none
// is set.
func (in *OCIRepository) GetLayerOperation() string {
	if in.Spec.LayerSelector == nil || in.Spec.LayerSelector.Operation == "" {
		return OCILayerExtract
	}
	return in.Spec.LayerSelector.Operation
}

// OCIRepositoryList is a list of OCIRepository objects.
// +kubebuilder:object:root=true
type OCIRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OCIRepository `json:"items"`
}

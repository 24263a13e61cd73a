package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// HelmRepositoryKind is the kind name of HelmRepository objects.
const HelmRepositoryKind = "HelmRepository"

// Values of HelmRepositorySpec.Type.
const (
	// HelmRepositoryTypeDefault is a classic Helm repository served over
	// HTTP(S) with an index.yaml. It is what an empty type means.
	HelmRepositoryTypeDefault = "default"
	// HelmRepositoryTypeOCI is a Helm repository in an OCI registry.
	HelmRepositoryTypeOCI = "oci"
)

// HelmRepositoryURLIndexKey is the field index key under which controllers
// index HelmRepository objects by spec.url.
const HelmRepositoryURLIndexKey = ".metadata.helmRepositoryURL"

// HelmRepository condition reasons.
const (
	// IndexationFailedReason: fetching or parsing the repository index
	// failed.
	IndexationFailedReason = "IndexationFailed"

	// LegacyIndexationSucceededReason is the value v1beta1 controllers
	// reported for a successful index fetch.
	LegacyIndexationSucceededReason = "IndexationSucceed"
)

// HelmRepositorySpec says which Helm repository to index and how.
type HelmRepositorySpec struct {
	// URL of the repository: http(s):// for a classic repository, oci://
	// for a registry.
	//
	// NOTE: v1beta1 set no pattern here, while v1 and v1beta2 require an
	// http, https or oci scheme; the looser v1beta1 rule is kept.
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret with "username" and "password" for basic
	// auth. Its TLS keys ("certFile", "keyFile", "caFile") are deprecated in
	// favour of CertSecretRef.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret (type Opaque or kubernetes.io/tls) with a
	// client certificate and key ("tls.crt", "tls.key") and/or a CA
	// certificate ("ca.crt"). It wins over TLS data in SecretRef.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// PassCredentials sends the SecretRef credentials also to hosts other
	// than the URL's host, as chart URLs in the index may point elsewhere.
	// Use with care: it can leak credentials.
	// +optional
	PassCredentials bool `json:"passCredentials,omitempty"`

	// Interval between fetches of the index.
	//
	// NOTE: required in v1beta1, optional in v1 and v1beta2; v1beta1 set no
	// pattern, so the pattern accepts every Go duration.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Insecure allows plain-HTTP registries; only for type oci.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Timeout of the index fetch, and of registry operations of HelmCharts
	// that use this repository; 60s when not given.
	//
	// NOTE: v1beta1 defaulted this to 60s in the schema, v1 and v1beta2 do
	// not (the storage version's choice is kept; GetTimeout applies 60s).
	// v1beta1 set no pattern, so the pattern accepts every Go duration.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AccessFrom is a cross-namespace access list that Flux declared but
	// never enforced.
	// +optional
	AccessFrom *meta.AccessFrom `json:"accessFrom,omitempty"`

	// Type of the repository; "oci" requires an oci:// URL.
	// +kubebuilder:validation:Enum=default;oci
	// +optional
	Type string `json:"type,omitempty"`

	// Provider selects how to authenticate to an OCI registry; only for type
	// oci.
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`
}

// HelmRepositoryStatus is what the controller last observed and produced
// for a HelmRepository.
type HelmRepositoryStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the state of the object.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is where the latest index artifact can be downloaded; prefer
	// Artifact.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the index artifact of the last successful reconcile.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=helmrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// HelmRepository is a Flux source for a Helm chart repository, either a
// classic index-based repository or an OCI registry.
type HelmRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec HelmRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status HelmRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *HelmRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next fetch, one
// minute when no interval is set.
func (in *HelmRepository) GetRequeueAfter() time.Duration {
	if in.Spec.Interval.Duration != 0 {
		return in.Spec.Interval.Duration
	}
	return time.Minute
}

// GetTimeout returns the timeout of remote operations, one minute when none
// is set.
func (in *HelmRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout != nil {
		return in.Spec.Timeout.Duration
	}
	return time.Minute
}

// GetArtifact returns the current artifact, or nil.
func (in *HelmRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// HelmRepositoryList is a list of HelmRepository objects.
// +kubebuilder:object:root=true
type HelmRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelmRepository `json:"items"`
}

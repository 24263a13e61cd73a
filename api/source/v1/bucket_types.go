package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// BucketKind is the kind name of Bucket objects.
const BucketKind = "Bucket"

// Values of BucketSpec.Provider.
const (
	// BucketProviderGeneric reads any S3-compatible object storage with
	// the static keys of spec.secretRef. It is the default.
	BucketProviderGeneric = "generic"
	// BucketProviderAmazon reads Amazon S3, with static keys or the
	// workload's AWS identity.
	BucketProviderAmazon = "aws"
	// BucketProviderGoogle reads Google Cloud Storage.
	BucketProviderGoogle = "gcp"
	// BucketProviderAzure reads Azure Blob Storage.
	BucketProviderAzure = "azure"
)

// Bucket condition reasons.
const (
	// BucketOperationSucceededReason: listing and fetching the bucket's
	// objects succeeded.
	BucketOperationSucceededReason = "BucketOperationSucceeded"

	// BucketOperationFailedReason: listing or fetching the bucket's objects
	// failed.
	BucketOperationFailedReason = "BucketOperationFailed"
)

// BucketSpec says which object storage bucket to read and how often.
type BucketSpec struct {
	// Provider of the object storage: generic (any S3-compatible storage,
	// the default), aws, gcp or azure.
	// +kubebuilder:validation:Enum=generic;aws;gcp;azure
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// BucketName is the name of the bucket.
	// +required
	BucketName string `json:"bucketName"`

	// Endpoint is the address of the object storage, host[:port] without
	// a scheme.
	// +required
	Endpoint string `json:"endpoint"`

	// STS configures a Security Token Service to get temporary
	// credentials from (upstream: aws and generic providers).
	// +optional
	STS *BucketSTSSpec `json:"sts,omitempty"`

	// Insecure connects over plain HTTP instead of HTTPS.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Region of the endpoint where the bucket is.
	// +optional
	Region string `json:"region,omitempty"`

	// Prefix limits the objects read to those whose name starts with it
	// (filtered by the server).
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// SecretRef names a Secret with the keys "accesskey" and "secretkey".
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// ServiceAccountName is the ServiceAccount whose cloud identity is
	// used to authenticate (upstream: gcp and aws providers).
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret (type Opaque or kubernetes.io/tls) with
	// a client certificate and key ("tls.crt", "tls.key") and/or a CA
	// certificate ("ca.crt") for the connection to the endpoint.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy settings ("address" and
	// optionally "username" and "password") for reaching the endpoint.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Interval between checks of the bucket for changes.
	//
	// NOTE: early v1beta2 set no pattern here, so the pattern accepts every
	// Go duration (see the package doc).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +required
	Interval metav1.Duration `json:"interval"`

	// Timeout of each listing and download pass; 60s when not given.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Ignore holds exclusion patterns in .sourceignore (.gitignore)
	// syntax; they rank above the bucket's own .sourceignore object.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AccessFrom is the cross-namespace access list of v1beta2.
	// Deprecated: never enforced, and dropped from upstream v1.
	// +optional
	AccessFrom *meta.AccessFrom `json:"accessFrom,omitempty"`
}

// BucketSTSSpec configures a Security Token Service that hands out
// temporary credentials for the bucket.
type BucketSTSSpec struct {
	// Provider of the Security Token Service.
	// +kubebuilder:validation:Enum=aws;ldap
	// +required
	Provider string `json:"provider"`

	// Endpoint is the HTTP(S) address of the Security Token Service.
	// +kubebuilder:validation:Pattern="^(http|https)://.*$"
	// +required
	Endpoint string `json:"endpoint"`

	// SecretRef names a Secret with "username" and "password" for the
	// ldap provider.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with TLS material ("tls.crt",
	// "tls.key", "ca.crt") for the ldap provider's endpoint.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`
}

// BucketStatus is what the controller last observed and produced for a
// Bucket.
type BucketStatus struct {
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
	// the artifact's content. Deprecated: replaced by ObservedIgnore.
	// +optional
	ContentConfigChecksum string `json:"contentConfigChecksum,omitempty"`

	// ObservedIgnore is the spec.ignore value used for Artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-sources
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// Bucket is a Flux source that reads the objects of an object storage
// bucket and publishes them as an artifact.
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BucketSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status BucketStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *Bucket) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Bucket) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next check.
func (in *Bucket) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetArtifact returns the current artifact, or nil.
func (in *Bucket) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetProvider returns the storage provider, BucketProviderGeneric when none
// is set.
func (in *Bucket) GetProvider() string {
	if in.Spec.Provider == "" {
		return BucketProviderGeneric
	}
	return in.Spec.Provider
}

// GetTimeout returns the timeout of one listing and download pass, 60s when
// none is set.
func (in *Bucket) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil || in.Spec.Timeout.Duration <= 0 {
		return 60 * time.Second
	}
	return in.Spec.Timeout.Duration
}

// BucketList is a list of Bucket objects.
// +kubebuilder:object:root=true
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bucket `json:"items"`
}

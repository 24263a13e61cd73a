package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// Authentication providers accepted in ImageRepositorySpec.Provider.
const (
	// ImageProviderGeneric authenticates with SecretRef or the service
	// account's pull secrets only.
	ImageProviderGeneric = "generic"
	// ImageProviderAWS obtains ECR credentials from the cloud environment.
	ImageProviderAWS = "aws"
	// ImageProviderAzure obtains ACR credentials from the cloud environment.
	ImageProviderAzure = "azure"
	// ImageProviderGCP obtains GCR/Artifact Registry credentials from the
	// cloud environment.
	ImageProviderGCP = "gcp"
)

// DefaultExclusionList is the tag exclusion list used when
// ImageRepositorySpec.ExclusionList is empty: it hides signature tags.
var DefaultExclusionList = []string{"^.*\\.sig$"}

// ImageRepositorySpec says which registry repository to scan for tags, how
// often, and with which credentials.
type ImageRepositorySpec struct {
	// Image is the repository to scan, such as "ghcr.io/org/app" or
	// "stefanprodan/podinfo".
	// +required
	Image string `json:"image,omitempty"`

	// Interval between two scans.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval,omitempty"`

	// Timeout of one scan; defaults to Interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// SecretRef names a docker-registry Secret with the registry
	// credentials.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy ("address", and
	// optionally "username" and "password") to reach the registry through.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// ServiceAccountName is a ServiceAccount in the same namespace whose pull
	// secrets, or whose workload identity, authenticate the scan.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret (type Opaque or kubernetes.io/tls) with a
	// client certificate pair ("tls.crt", "tls.key") and/or a CA bundle
	// ("ca.crt") for the registry connection. The older keys "certFile",
	// "keyFile" and "caFile" are still read.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// Suspend stops further scans; a scan in progress is not interrupted.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AccessFrom lets ImagePolicies in other namespaces use this repository.
	// +optional
	AccessFrom *meta.AccessFrom `json:"accessFrom,omitempty"`

	// NOTE: v1 and v1beta2 cap the list at 25 items, v1beta1 does not; the
	// looser v1beta1 rule is kept.

	// ExclusionList holds regular expressions; matching tags are not
	// stored. Defaults to DefaultExclusionList.
	// +kubebuilder:default:={"^.*\\.sig$"}
	// +optional
	ExclusionList []string `json:"exclusionList,omitempty"`

	// Provider selects the cloud whose ambient credentials are used:
	// generic, aws, azure or gcp.
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// Insecure allows plain-HTTP registries.
	// +optional
	Insecure bool `json:"insecure,omitempty"`
}

// ScanResult summarises the last scan of an ImageRepository.
type ScanResult struct {
	// Revision is a stable hash of the set of tags found.
	// +optional
	Revision string `json:"revision,omitempty"`

	// TagCount is how many tags were found.
	// +required
	TagCount int `json:"tagCount"`

	// ScanTime is when the scan ran.
	// +optional
	ScanTime metav1.Time `json:"scanTime,omitempty"`

	// LatestTags is a sample of the tags found: the first ten in
	// descending alphabetical order.
	// +optional
	LatestTags []string `json:"latestTags,omitempty"`
}

// ImageRepositoryStatus is what the scanner last observed.
type ImageRepositoryStatus struct {
	// Conditions of the repository, Ready among them.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// CanonicalImageName is spec.image with the implicit parts spelled
	// out, such as "docker.io/library/alpine" for "alpine".
	// +optional
	CanonicalImageName string `json:"canonicalImageName,omitempty"`

	// LastScanResult describes the last successful scan.
	// +optional
	LastScanResult *ScanResult `json:"lastScanResult,omitempty"`

	// ObservedExclusionList is the exclusion list that was in force for
	// LastScanResult.
	// +optional
	ObservedExclusionList []string `json:"observedExclusionList,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// ImageRepository scans a container registry repository and records its
// tags for ImagePolicies to choose from.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=imgrepo;imagerepo,categories=all;fluxcd;fluxcd-images
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Image",type="string",JSONPath=".spec.image"
// +kubebuilder:printcolumn:name="Tags",type="string",JSONPath=".status.lastScanResult.tagCount"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Last scan",type="string",JSONPath=".status.lastScanResult.scanTime",priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type ImageRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImageRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImageRepositoryStatus `json:"status,omitempty"`
}

// ImageRepositoryList is a list of ImageRepositories.
//
// +kubebuilder:object:root=true
type ImageRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageRepository `json:"items"`
}

// GetConditions returns the status conditions.
func (in *ImageRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *ImageRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next scan.
func (in *ImageRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns the scan timeout: spec.timeout, else spec.interval,
// and never less than one second.
func (in *ImageRepository) GetTimeout() time.Duration {
	d := in.Spec.Interval.Duration
	if in.Spec.Timeout != nil {
		d = in.Spec.Timeout.Duration
	}
	return max(d, time.Second)
}

// GetExclusionList returns spec.exclusionList, or DefaultExclusionList when
// it is empty.
func (in *ImageRepository) GetExclusionList() []string {
	if len(in.Spec.ExclusionList) > 0 {
		return in.Spec.ExclusionList
	}
	return append([]string(nil), DefaultExclusionList...)
}

// GetProvider returns spec.provider, or "generic" when it is empty.
func (in *ImageRepository) GetProvider() string {
	if in.Spec.Provider == "" {
		return ImageProviderGeneric
	}
	return in.Spec.Provider
}

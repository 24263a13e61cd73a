package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// DefaultDigestReflectionInterval is how often an ImagePolicy with digest
// reflection "Always" re-reads the digest when spec.interval is not set.
const DefaultDigestReflectionInterval = 10 * time.Minute

// ImagePolicySpec says which ImageRepository to read and how to choose the
// latest image among its tags.
//
// +kubebuilder:validation:XValidation:rule="!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')",message="spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'"
// +kubebuilder:validation:XValidation:rule="has(self.interval) || !has(self.digestReflectionPolicy) || self.digestReflectionPolicy != 'Always'",message="spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'"
type ImagePolicySpec struct {
	// ImageRepositoryRef names the ImageRepository whose tags are
	// considered; it may live in another namespace if that repository's
	// accessFrom allows it.
	// +required
	ImageRepositoryRef meta.NamespacedObjectReference `json:"imageRepositoryRef"`

	// Policy is the ordering rule that picks the latest tag.
	// +required
	Policy ImagePolicyChoice `json:"policy"`

	// FilterTags narrows the tags before ordering; without it every tag
	// is ordered.
	// +optional
	FilterTags *TagFilter `json:"filterTags,omitempty"`

	// DigestReflectionPolicy says when status.latestRef.digest is filled
	// in: Never (left empty), IfNotPresent (set once while the chosen tag
	// stays the same) or Always (refreshed every Interval).
	// +kubebuilder:default:=Never
	// +optional
	DigestReflectionPolicy ReflectionPolicy `json:"digestReflectionPolicy,omitempty"`

	// Interval between digest refreshes; only allowed, and then required,
	// with DigestReflectionPolicy "Always".
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Suspend stops further evaluations of the policy.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ReflectionPolicy tells when a value read from the registry is copied into
// the object.
// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
type ReflectionPolicy string

// Values of ReflectionPolicy.
const (
	// ReflectAlways overwrites the value on every refresh.
	ReflectAlways ReflectionPolicy = "Always"
	// ReflectIfNotPresent sets the value only while it is empty.
	ReflectIfNotPresent ReflectionPolicy = "IfNotPresent"
	// ReflectNever never sets the value.
	ReflectNever ReflectionPolicy = "Never"
)

// ImagePolicyChoice holds exactly one ordering rule.
type ImagePolicyChoice struct {
	// SemVer picks the highest tag inside a semantic version range.
	// +optional
	SemVer *SemVerPolicy `json:"semver,omitempty"`

	// Alphabetical orders tags as strings.
	// +optional
	Alphabetical *AlphabeticalPolicy `json:"alphabetical,omitempty"`

	// Numerical orders tags as numbers.
	// +optional
	Numerical *NumericalPolicy `json:"numerical,omitempty"`
}

// SemVerPolicy picks the highest tag that is a semantic version inside Range.
type SemVerPolicy struct {
	// Range is a semver constraint such as ">=1.0.0 <2.0.0" or "6.0.x".
	// +required
	Range string `json:"range"`
}

// Sort orders accepted by the alphabetical and numerical policies.
const (
	// OrderAscending picks the greatest tag (Z, or 9).
	OrderAscending = "asc"
	// OrderDescending picks the smallest tag (A, or 0).
	OrderDescending = "desc"
)

// AlphabeticalPolicy orders tags lexically.
type AlphabeticalPolicy struct {
	// Order is "asc" (the last tag in alphabetical order wins) or "desc"
	// (the first one wins).
	// +kubebuilder:default:="asc"
	// +kubebuilder:validation:Enum=asc;desc
	// +optional
	Order string `json:"order,omitempty"`
}

// NumericalPolicy orders tags as numbers.
type NumericalPolicy struct {
	// Order is "asc" (the largest number wins) or "desc" (the smallest
	// wins).
	// +kubebuilder:default:="asc"
	// +kubebuilder:validation:Enum=asc;desc
	// +optional
	Order string `json:"order,omitempty"`
}

// TagFilter keeps only the tags matching a regular expression, optionally
// rewriting each to a capture-group expansion before ordering.
type TagFilter struct {
	// Pattern is the regular expression a tag must match.
	// +optional
	Pattern string `json:"pattern,omitempty"`

	// Extract is a template such as "$ts" built from the capture groups of
	// Pattern; the result is what gets ordered.
	// +optional
	Extract string `json:"extract,omitempty"`
}

// ImagePolicyStatus records the image the policy chose.
type ImagePolicyStatus struct {
	// LatestImage is the chosen image as "name:tag" (v1beta1 and v1beta2
	// form; superseded by LatestRef).
	// +optional
	LatestImage string `json:"latestImage,omitempty"`

	// ObservedPreviousImage is the previous LatestImage (v1beta2 form;
	// superseded by ObservedPreviousRef).
	// +optional
	ObservedPreviousImage string `json:"observedPreviousImage,omitempty"`

	// LatestRef is the chosen image.
	// +optional
	LatestRef *ImageRef `json:"latestRef,omitempty"`

	// ObservedPreviousRef is the image chosen before LatestRef.
	// +optional
	ObservedPreviousRef *ImageRef `json:"observedPreviousRef,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the policy, Ready among them.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// ImagePolicy chooses the latest image from the tags an ImageRepository
// found.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=imgpol;imagepol,categories=all;fluxcd;fluxcd-images
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Image",type="string",JSONPath=".status.latestRef.name"
// +kubebuilder:printcolumn:name="Tag",type="string",JSONPath=".status.latestRef.tag"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type ImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImagePolicyStatus `json:"status,omitempty"`
}

// ImagePolicyList is a list of ImagePolicies.
//
// +kubebuilder:object:root=true
type ImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImagePolicy `json:"items"`
}

// GetConditions returns the status conditions.
func (in *ImagePolicy) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *ImagePolicy) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetDigestReflectionPolicy returns spec.digestReflectionPolicy, or Never
// when it is empty.
func (in *ImagePolicy) GetDigestReflectionPolicy() ReflectionPolicy {
	if in.Spec.DigestReflectionPolicy == "" {
		return ReflectNever
	}
	return in.Spec.DigestReflectionPolicy
}

// GetInterval returns how often the policy must be re-evaluated on its own:
// zero unless digest reflection is "Always", in which case spec.interval or
// DefaultDigestReflectionInterval.
func (in *ImagePolicy) GetInterval() time.Duration {
	if in.GetDigestReflectionPolicy() != ReflectAlways {
		return 0
	}
	if in.Spec.Interval == nil || in.Spec.Interval.Duration == 0 {
		return DefaultDigestReflectionInterval
	}
	return in.Spec.Interval.Duration
}

package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// ImageUpdateAutomationSpec says which git repository to update, how often,
// and how to write the changes back.
type ImageUpdateAutomationSpec struct {
	// SourceRef names the GitRepository to update.
	// +required
	SourceRef CrossNamespaceSourceReference `json:"sourceRef"`

	// GitSpec holds the checkout, commit and push settings. The schema
	// leaves it optional, but an automation cannot run without it.
	// +optional
	GitSpec *GitSpec `json:"git,omitempty"`

	// Interval is the longest time between two automation runs.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// PolicyChangeDelay holds back the run that an ImagePolicy change
	// triggers, so that changes arriving close together land in one
	// commit. By default the run starts right away.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	PolicyChangeDelay *metav1.Duration `json:"policyChangeDelay,omitempty"`

	// PolicySelector restricts the ImagePolicies applied to those whose
	// labels match; by default every policy in the namespace applies.
	// +optional
	PolicySelector *metav1.LabelSelector `json:"policySelector,omitempty"`

	// Update says how files are rewritten; it defaults to the Setters
	// strategy over the whole repository.
	// +kubebuilder:default={"strategy":"Setters"}
	// +optional
	Update *UpdateStrategy `json:"update,omitempty"`

	// Suspend stops further runs until it is cleared.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// UpdateStrategyName names a way of rewriting files.
// +kubebuilder:validation:Enum=Setters
type UpdateStrategyName string

// UpdateStrategySetters rewrites the YAML fields marked with image policy
// setter comments (such as `# {"$imagepolicy": "ns:name"}`).
const UpdateStrategySetters UpdateStrategyName = "Setters"

// UpdateStrategy picks the rewriting strategy and where it applies.
type UpdateStrategy struct {
	// NOTE: v1beta1 and v1beta2 require this field, v1 defaults it; the
	// looser v1 rule is kept.

	// Strategy to use; Setters is the only one.
	// +kubebuilder:default=Setters
	// +optional
	Strategy UpdateStrategyName `json:"strategy,omitempty"`

	// Path of the directory, relative to the repository root, whose files
	// are updated; the whole repository when empty.
	// +optional
	Path string `json:"path,omitempty"`
}

// ObservedPolicies maps the name of each ImagePolicy an automation run used
// to the image it had chosen.
type ObservedPolicies map[string]ImageRef

// ImageUpdateAutomationStatus records the automation's last runs.
type ImageUpdateAutomationStatus struct {
	// LastAutomationRunTime is when a run last completed, whether or not
	// it changed anything.
	// +optional
	LastAutomationRunTime *metav1.Time `json:"lastAutomationRunTime,omitempty"`

	// LastPushCommit is the SHA of the last commit this automation pushed.
	// +optional
	LastPushCommit string `json:"lastPushCommit,omitempty"`

	// LastPushTime is when this automation last pushed.
	// +optional
	LastPushTime *metav1.Time `json:"lastPushTime,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the automation, Ready among them.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedPolicies are the policies, and their images, that the last
	// run considered.
	// +optional
	ObservedPolicies ObservedPolicies `json:"observedPolicies,omitempty"`

	// ObservedSourceRevision is the source revision the last run saw; a
	// different revision means the source moved since.
	// +optional
	ObservedSourceRevision string `json:"observedSourceRevision,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// ImageUpdateAutomation writes the images chosen by ImagePolicies into the
// files of a git repository and commits and pushes the result.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=iua;imgupd;imgauto,categories=all;fluxcd;fluxcd-images
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Last run",type="string",JSONPath=".status.lastAutomationRunTime",priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type ImageUpdateAutomation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImageUpdateAutomationSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImageUpdateAutomationStatus `json:"status,omitempty"`
}

// ImageUpdateAutomationList is a list of ImageUpdateAutomations.
//
// +kubebuilder:object:root=true
type ImageUpdateAutomationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageUpdateAutomation `json:"items"`
}

// GetConditions returns the status conditions.
func (in *ImageUpdateAutomation) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *ImageUpdateAutomation) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next run.
func (in *ImageUpdateAutomation) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetPolicyChangeDelay returns spec.policyChangeDelay, or zero.
func (in *ImageUpdateAutomation) GetPolicyChangeDelay() time.Duration {
	if in.Spec.PolicyChangeDelay == nil {
		return 0
	}
	return in.Spec.PolicyChangeDelay.Duration
}

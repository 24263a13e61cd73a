package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// AlertSpec says which events to forward and to which Provider.
type AlertSpec struct {
	// ProviderRef names the Provider, in the Alert's namespace, that
	// receives the events.
	// +required
	ProviderRef meta.LocalObjectReference `json:"providerRef"`

	// EventSeverity is the lowest severity forwarded: "info" forwards
	// everything, "error" only errors.
	// +kubebuilder:validation:Enum=info;error
	// +kubebuilder:default:=info
	// +optional
	EventSeverity string `json:"eventSeverity,omitempty"`

	// EventSources selects the objects whose events are forwarded.
	// +required
	EventSources []CrossNamespaceObjectReference `json:"eventSources"`

	// InclusionList holds regular expressions; when set, only events whose
	// message matches one of them are forwarded.
	// +optional
	InclusionList []string `json:"inclusionList,omitempty"`

	// EventMetadata is added to every forwarded event's metadata. Keys set
	// by the emitting controller take precedence over these, which take
	// precedence over event.toolkit.fluxcd.io/ annotations on the object.
	// +optional
	EventMetadata map[string]string `json:"eventMetadata,omitempty"`

	// ExclusionList holds regular expressions; events whose message
	// matches one of them are dropped.
	// +optional
	ExclusionList []string `json:"exclusionList,omitempty"`

	// NOTE: v1beta2 and v1beta3 cap summary at 255 characters, v1beta1
	// does not; the looser rule is kept.

	// Summary is a short text describing the impact, sent along with the
	// events (superseded by EventMetadata; not in v1).
	// +optional
	Summary string `json:"summary,omitempty"`

	// Suspend stops forwarding events for this Alert.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// AlertStatus is the status that v1beta1 and v1beta2 Alerts carried; from
// v1beta3 on Alerts are static and have none.
type AlertStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// Conditions of the alert, Ready among them.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Alert forwards the events of selected Flux objects to a Provider.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-notifications
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type Alert struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AlertSpec   `json:"spec,omitempty"`
	Status AlertStatus `json:"status,omitempty"`
}

// AlertList is a list of Alerts.
//
// +kubebuilder:object:root=true
type AlertList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Alert `json:"items"`
}

// GetConditions returns the status conditions.
func (in *Alert) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Alert) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SealedSecret holds a Secret whose values are encrypted with the public key
// of the cluster's sealing key pair. The controller decrypts it and creates
// or updates a Secret of the same name and namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[0].message`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[0].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SealedSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the encrypted data and the shape of the Secret to create.
	Spec SealedSecretSpec `json:"spec"`

	// Status is what the controller last observed.
	// +optional
	Status *SealedSecretStatus `json:"status,omitempty"`
}

// SealedSecretList is a list of SealedSecret objects.
//
// +kubebuilder:object:root=true
type SealedSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SealedSecret `json:"items"`
}

// SealedSecretSpec is the desired state of a SealedSecret.
type SealedSecretSpec struct {
	// Template shapes the Secret that is created: its metadata, type and
	// templated data.
	// +optional
	Template SecretTemplateSpec `json:"template,omitempty"`

	// Data is the whole Secret encrypted as one value. Deprecated: use
	// EncryptedData, which encrypts each value on its own.
	// +optional
	Data []byte `json:"data,omitempty"`

	// EncryptedData maps each Secret key to its encrypted value, as
	// base64. The encryption binds each value to the SealedSecret's name
	// and namespace unless a wider scope annotation was used to seal it.
	// +kubebuilder:pruning:PreserveUnknownFields
	EncryptedData map[string]string `json:"encryptedData"`
}

// SecretTemplateSpec shapes the Secret created from a SealedSecret.
type SecretTemplateSpec struct {
	// ObjectMeta is copied to the Secret; its name and namespace are
	// always those of the SealedSecret.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Type is the Secret type, such as "Opaque" or
	// "kubernetes.io/dockerconfigjson".
	// +optional
	Type string `json:"type,omitempty"`

	// Immutable makes the created Secret immutable.
	// +optional
	Immutable *bool `json:"immutable,omitempty"`

	// Data maps Secret keys to Go templates that are rendered with the
	// decrypted values; it is for keys built from several secret values.
	// +nullable
	// +optional
	Data map[string]string `json:"data,omitempty"`
}

// SealedSecretStatus is the observed state of a SealedSecret.
type SealedSecretStatus struct {
	// ObservedGeneration is the generation of the SealedSecret the
	// controller last handled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions report the outcome of unsealing.
	// +optional
	Conditions []SealedSecretCondition `json:"conditions,omitempty"`
}

// SealedSecretConditionType names a kind of SealedSecret condition.
type SealedSecretConditionType string

// SealedSecretSynced is True when the SealedSecret was decrypted and the
// Secret written; False, with the error in the message, otherwise.
const SealedSecretSynced SealedSecretConditionType = "Synced"

// SealedSecretCondition is one observation about a SealedSecret.
type SealedSecretCondition struct {
	// Type is the kind of condition.
	Type SealedSecretConditionType `json:"type"`

	// Status is "True", "False" or "Unknown".
	Status string `json:"status"`

	// LastUpdateTime is when the condition was last written.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`

	// LastTransitionTime is when Status last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`

	// Reason is a machine-readable word for the last transition.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message explains the condition to a human.
	// +optional
	Message string `json:"message,omitempty"`
}

// Annotations that kubeseal and users put on SealedSecrets.
const (
	// AnnotationClusterWide set to "true" means the values were sealed so
	// that they decrypt under any name in any namespace.
	AnnotationClusterWide = "sealedsecrets.bitnami.com/cluster-wide"

	// AnnotationNamespaceWide set to "true" means the values were sealed
	// so that they decrypt under any name within the namespace.
	AnnotationNamespaceWide = "sealedsecrets.bitnami.com/namespace-wide"

	// AnnotationManaged set to "true" on an existing Secret lets a
	// SealedSecret of the same name take it over.
	AnnotationManaged = "sealedsecrets.bitnami.com/managed"
)

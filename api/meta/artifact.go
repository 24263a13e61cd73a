package meta

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Artifact records one packed revision of a source, as the source
// controllers publish it in status.artifact.
type Artifact struct {
	// Path of the artifact relative to the artifact server's root.
	// +required
	Path string `json:"path"`

	// URL from which the artifact can be downloaded.
	// +required
	URL string `json:"url"`

	// Revision in Flux's form, such as "main@sha1:<commit>".
	// +required
	Revision string `json:"revision"`

	// Checksum is the SHA-256 of the artifact, as v1beta1 objects report it.
	// +optional
	Checksum string `json:"checksum,omitempty"`

	// Digest of the artifact, as "<algorithm>:<hex>".
	// +kubebuilder:validation:Pattern="^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
	// +optional
	Digest string `json:"digest,omitempty"`

	// LastUpdateTime is when the artifact last changed.
	// +required
	LastUpdateTime metav1.Time `json:"lastUpdateTime"`

	// Size of the artifact in bytes.
	// +optional
	Size *int64 `json:"size,omitempty"`

	// Metadata holds upstream annotations, such as OCI annotations.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}

// ReconcileRequestStatus is embedded in status to acknowledge the
// reconcile.fluxcd.io/requestedAt annotation.
type ReconcileRequestStatus struct {
	// LastHandledReconcileAt holds the value of the most recent
	// reconcile request annotation that was handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}

// ForceRequestStatus is embedded in status to acknowledge the
// reconcile.fluxcd.io/forceAt annotation.
type ForceRequestStatus struct {
	// LastHandledForceAt holds the value of the most recent force request
	// annotation that was handled.
	// +optional
	LastHandledForceAt string `json:"lastHandledForceAt,omitempty"`
}

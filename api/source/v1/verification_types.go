package v1

import "github.com/tether-gitops/tether/api/meta"

// Signature providers for OCI artifacts and OCI Helm charts.
const (
	// VerificationProviderCosign verifies signatures made with Sigstore
	// Cosign, with keys or keyless.
	VerificationProviderCosign = "cosign"
	// VerificationProviderNotation verifies signatures made with Notation.
	VerificationProviderNotation = "notation"
)

// OCIRepositoryVerification tells how to check the signature of an OCI
// artifact, or of a Helm chart pulled from an OCI registry, before it is
// accepted.
//
// NOTE: upstream v1 HelmChart has its own verification type without
// trustedRootSecretRef, while upstream v1beta2 HelmChart used this one; the
// superset is this type.
type OCIRepositoryVerification struct {
	// Provider is the signing technology to check against.
	// +kubebuilder:validation:Enum=cosign;notation
	// +kubebuilder:default:=cosign
	Provider string `json:"provider"`

	// SecretRef names a Secret holding the trusted public keys or
	// certificates.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// MatchOIDCIdentity lists accepted signer identities for Cosign keyless
	// signatures; the signature passes when any entry matches.
	// +optional
	MatchOIDCIdentity []OIDCIdentityMatch `json:"matchOIDCIdentity,omitempty"`

	// TrustedRootSecretRef names a Secret whose key "trusted_root.json" holds
	// a Sigstore trusted root, for self-hosted Sigstore services.
	// +optional
	TrustedRootSecretRef *meta.LocalObjectReference `json:"trustedRootSecretRef,omitempty"`
}

// OIDCIdentityMatch accepts a keyless signature whose certificate's issuer
// and subject both match the given regular expressions (Go syntax).
type OIDCIdentityMatch struct {
	// Issuer is a regular expression for the OIDC issuer of the signing
	// certificate.
	// +required
	Issuer string `json:"issuer"`

	// Subject is a regular expression for the identity subject of the
	// signing certificate.
	// +required
	Subject string `json:"subject"`
}

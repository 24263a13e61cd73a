package v1

import (
	"crypto/sha256"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// Receiver types accepted in ReceiverSpec.Type.
const (
	// GenericReceiver accepts any request that carries the token path.
	GenericReceiver = "generic"
	// GenericHMACReceiver accepts requests whose X-Signature header is an
	// HMAC of the body keyed with the token.
	GenericHMACReceiver = "generic-hmac"
	// GenericOIDCReceiver accepts requests bearing an OIDC token that one of
	// ReceiverSpec.OIDCProviders verifies.
	GenericOIDCReceiver = "generic-oidc"
	// GitHubReceiver is for webhooks sent by GitHub.
	GitHubReceiver = "github"
	// GitLabReceiver is for webhooks sent by GitLab.
	GitLabReceiver = "gitlab"
	// BitbucketReceiver is for webhooks sent by Bitbucket Server.
	BitbucketReceiver = "bitbucket"
	// HarborReceiver is for webhooks sent by Harbor.
	HarborReceiver = "harbor"
	// DockerHubReceiver is for webhooks sent by Docker Hub.
	DockerHubReceiver = "dockerhub"
	// QuayReceiver is for webhooks sent by Quay.
	QuayReceiver = "quay"
	// GCRReceiver is for Google Container Registry / Artifact Registry
	// notifications pushed through Pub/Sub.
	GCRReceiver = "gcr"
	// NexusReceiver is for webhooks sent by Sonatype Nexus.
	NexusReceiver = "nexus"
	// ACRReceiver is for webhooks sent by Azure Container Registry.
	ACRReceiver = "acr"
	// CDEventsReceiver is for CDEvents.
	CDEventsReceiver = "cdevents"
)

// ReceiverWebhookPath is the prefix of every Receiver's webhook path.
const ReceiverWebhookPath = "/hook/"

// DefaultReceiverInterval is how often a Receiver is reconciled when
// ReceiverSpec.Interval is not set.
const DefaultReceiverInterval = 10 * time.Minute

// DefaultOIDCAudience is the audience expected in OIDC tokens when
// OIDCProvider.Audience is empty.
const DefaultOIDCAudience = "notification-controller"

// NOTE: v1beta1 and v1beta2 require secretRef; v1 makes it optional and
// enforces it with the CEL rules below (required unless the type is
// generic-oidc), which no older object can fail.

// ReceiverSpec says which webhooks to accept and which objects they trigger.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)",message="generic-oidc receivers must define at least one oidcProvider"
// +kubebuilder:validation:XValidation:rule="self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0",message="oidcProviders can only be set when type is generic-oidc"
// +kubebuilder:validation:XValidation:rule="self.type != 'generic-oidc' || !has(self.secretRef)",message="secretRef cannot be set when type is generic-oidc"
// +kubebuilder:validation:XValidation:rule="self.type == 'generic-oidc' || has(self.secretRef)",message="secretRef is required when type is not generic-oidc"
type ReceiverSpec struct {
	// Type of the webhook sender; it decides how requests are
	// authenticated and how their payload is read.
	// +kubebuilder:validation:Enum=generic;generic-hmac;generic-oidc;github;gitlab;bitbucket;harbor;dockerhub;quay;gcr;nexus;acr;cdevents
	// +required
	Type string `json:"type"`

	// Interval between reconciles of the Receiver with its Secret.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:default:="10m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Events lists the sender's event types to act on, such as "push" for
	// GitHub or "Push Hook" for GitLab; empty means all.
	// +optional
	Events []string `json:"events,omitempty"`

	// Resources are the objects to reconcile when a webhook is accepted.
	// +required
	Resources []ReceiverResource `json:"resources"`

	// ResourceFilter is a CEL expression, evaluated per resource with
	// "res" (the object's metadata), "req" (the request body) and, for
	// generic-oidc, "claims"; resources for which it is false are skipped.
	// An expression that does not compile or is not boolean stalls the
	// Receiver.
	// +optional
	ResourceFilter string `json:"resourceFilter,omitempty"`

	// SecretRef names a Secret whose "token" key authenticates requests
	// (GCR receivers also need "email" and "audience"). Required for every
	// type except generic-oidc, which must not set it.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// OIDCProviders are the issuers trusted by a generic-oidc Receiver; the
	// one whose IssuerURL equals the token's "iss" verifies it.
	// +listType=map
	// +listMapKey=issuerURL
	// +optional
	OIDCProviders []OIDCProvider `json:"oidcProviders,omitempty"`

	// Suspend stops acting on webhooks for this Receiver.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ReceiverResource selects objects to reconcile, with an optional
// per-resource CEL filter.
type ReceiverResource struct {
	CrossNamespaceObjectReference `json:",inline"`

	// Filter is a CEL expression with the same variables as
	// ReceiverSpec.ResourceFilter; a resource is reconciled only when both
	// (if set) are true.
	// +optional
	Filter string `json:"filter,omitempty"`
}

// OIDCProvider is an OIDC issuer that a generic-oidc Receiver trusts, with
// the checks its tokens must pass.
type OIDCProvider struct {
	// IssuerURL is used for discovery and must equal the token's "iss".
	// +kubebuilder:validation:Pattern="^https?://"
	// +required
	IssuerURL string `json:"issuerURL"`

	// Audience expected in the token's "aud"; defaults to
	// DefaultOIDCAudience.
	// +optional
	Audience string `json:"audience,omitempty"`

	// Variables are named CEL expressions over "claims" (and earlier
	// variables), available to Validations as "vars.<name>".
	// +optional
	Variables []OIDCVariable `json:"variables,omitempty"`

	// Validations are CEL expressions that must all be true for a request
	// to be accepted. At least one is needed: a valid signature alone says
	// nothing about who the caller is.
	// +kubebuilder:validation:MinItems=1
	// +required
	Validations []OIDCValidation `json:"validations"`
}

// GetAudience returns the configured audience, or DefaultOIDCAudience.
func (in *OIDCProvider) GetAudience() string {
	if in.Audience == "" {
		return DefaultOIDCAudience
	}
	return in.Audience
}

// OIDCVariable is a named CEL expression over OIDC token claims.
type OIDCVariable struct {
	// Name of the variable; a valid CEL identifier.
	// +required
	Name string `json:"name"`

	// Expression computing the variable's value.
	// +required
	Expression string `json:"expression"`
}

// OIDCValidation is a boolean CEL expression over OIDC token claims and
// variables.
type OIDCValidation struct {
	// Expression that must be true.
	// +required
	Expression string `json:"expression"`

	// Message returned to the caller when Expression is false.
	// +required
	Message string `json:"message"`
}

// ReceiverStatus records the Receiver's webhook path and conditions.
type ReceiverStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// Conditions of the receiver, Ready among them.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is the webhook path as v1beta1 and v1beta2 reported it;
	// superseded by WebhookPath.
	// +optional
	URL string `json:"url,omitempty"`

	// WebhookPath is the path the Receiver listens on:
	// "/hook/" followed by sha256(token+name+namespace) in hex.
	// +optional
	WebhookPath string `json:"webhookPath,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Receiver accepts webhooks from external systems and asks for an immediate
// reconcile of the selected Flux objects.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-notifications
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type Receiver struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ReceiverSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ReceiverStatus `json:"status,omitempty"`
}

// ReceiverList is a list of Receivers.
//
// +kubebuilder:object:root=true
type ReceiverList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Receiver `json:"items"`
}

// GetConditions returns the status conditions.
func (in *Receiver) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Receiver) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetInterval returns spec.interval, or DefaultReceiverInterval.
func (in *Receiver) GetInterval() time.Duration {
	if in.Spec.Interval == nil {
		return DefaultReceiverInterval
	}
	return in.Spec.Interval.Duration
}

// GetWebhookPath returns the webhook path for the given token:
// ReceiverWebhookPath followed by the hex SHA-256 of token, name and
// namespace concatenated.
func (in *Receiver) GetWebhookPath(token string) string {
	sum := sha256.Sum256([]byte(token + in.GetName() + in.GetNamespace()))
	return fmt.Sprintf("%s%x", ReceiverWebhookPath, sum)
}

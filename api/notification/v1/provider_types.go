package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// Provider types accepted in ProviderSpec.Type.
const (
	// GenericProvider posts the event as JSON to any HTTP/S address.
	GenericProvider = "generic"
	// GenericHMACProvider posts like GenericProvider and signs the body with an HMAC.
	GenericHMACProvider = "generic-hmac"
	// SlackProvider posts to a Slack channel.
	SlackProvider = "slack"
	// GrafanaProvider adds Grafana annotations.
	GrafanaProvider = "grafana"
	// DiscordProvider posts to a Discord channel.
	DiscordProvider = "discord"
	// MSTeamsProvider posts to Microsoft Teams.
	MSTeamsProvider = "msteams"
	// RocketProvider posts to Rocket.Chat.
	RocketProvider = "rocket"
	// GitHubDispatchProvider triggers GitHub repository_dispatch events.
	GitHubDispatchProvider = "githubdispatch"
	// GitHubProvider sets GitHub commit statuses.
	GitHubProvider = "github"
	// GitHubPullRequestCommentProvider comments on GitHub pull requests.
	GitHubPullRequestCommentProvider = "githubpullrequestcomment"
	// GitLabProvider sets GitLab commit statuses.
	GitLabProvider = "gitlab"
	// GitLabMergeRequestCommentProvider comments on GitLab merge requests.
	GitLabMergeRequestCommentProvider = "gitlabmergerequestcomment"
	// GiteaProvider sets Gitea commit statuses.
	GiteaProvider = "gitea"
	// GiteaPullRequestCommentProvider comments on Gitea pull requests.
	GiteaPullRequestCommentProvider = "giteapullrequestcomment"
	// BitbucketServerProvider sets Bitbucket Server/Data Center build statuses.
	BitbucketServerProvider = "bitbucketserver"
	// BitbucketProvider sets Bitbucket Cloud build statuses.
	BitbucketProvider = "bitbucket"
	// AzureDevOpsProvider sets Azure DevOps commit statuses.
	AzureDevOpsProvider = "azuredevops"
	// GoogleChatProvider posts to a Google Chat space.
	GoogleChatProvider = "googlechat"
	// GooglePubSubProvider publishes to a Google Cloud Pub/Sub topic.
	GooglePubSubProvider = "googlepubsub"
	// WebexProvider posts to a Webex room.
	WebexProvider = "webex"
	// SentryProvider sends events to Sentry.
	SentryProvider = "sentry"
	// AzureEventHubProvider sends events to an Azure Event Hub.
	AzureEventHubProvider = "azureeventhub"
	// TelegramProvider posts to a Telegram chat.
	TelegramProvider = "telegram"
	// LarkProvider posts to Lark.
	LarkProvider = "lark"
	// MatrixProvider posts to a Matrix room.
	MatrixProvider = "matrix"
	// OpsgenieProvider creates Opsgenie alerts.
	OpsgenieProvider = "opsgenie"
	// AlertManagerProvider sends alerts to a Prometheus Alertmanager.
	AlertManagerProvider = "alertmanager"
	// PagerDutyProvider sends PagerDuty events.
	PagerDutyProvider = "pagerduty"
	// DataDogProvider sends Datadog events.
	DataDogProvider = "datadog"
	// NATSProvider publishes to a NATS subject.
	NATSProvider = "nats"
	// ZulipProvider posts to a Zulip stream.
	ZulipProvider = "zulip"
	// OTELProvider exports events as OpenTelemetry traces.
	OTELProvider = "otel"
	// ZoomProvider posts to a Zoom Team Chat channel.
	ZoomProvider = "zoom"
	// IncidentioProvider sends alerts to incident.io.
	IncidentioProvider = "incident.io"
	// MastodonProvider posts to Mastodon.
	MastodonProvider = "mastodon"
)

// CommitStatusProviders are the provider types that post git commit statuses
// and therefore accept ProviderSpec.CommitStatusExpr.
var CommitStatusProviders = []string{
	GitHubProvider, GitLabProvider, GiteaProvider,
	BitbucketServerProvider, BitbucketProvider, AzureDevOpsProvider,
}

// DefaultProviderTimeout is the send timeout when ProviderSpec.Timeout is
// not set.
const DefaultProviderTimeout = 15 * time.Second

// NOTE: v1beta2 and later cap channel, username, address and proxy at 2048
// characters and v1beta1 requires address to start with http:// or https://;
// the looser rule of each version is kept, so none of these limits apply.

// ProviderSpec says where and how notifications are delivered.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)",message="spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types"
type ProviderSpec struct {
	// Type selects the notification service.
	// +kubebuilder:validation:Enum=slack;discord;msteams;rocket;generic;generic-hmac;github;gitlab;gitea;giteapullrequestcomment;bitbucketserver;bitbucket;azuredevops;googlechat;googlepubsub;webex;sentry;azureeventhub;telegram;lark;matrix;opsgenie;alertmanager;grafana;githubdispatch;githubpullrequestcomment;gitlabmergerequestcomment;pagerduty;datadog;nats;zulip;otel;zoom;incident.io;mastodon
	// +required
	Type string `json:"type"`

	// Interval was how often v1beta2 re-checked the referenced Secrets;
	// it is accepted but no longer used.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Channel to post to, for services that have channels.
	// +optional
	Channel string `json:"channel,omitempty"`

	// Username to post as, for services that allow choosing one.
	// +optional
	Username string `json:"username,omitempty"`

	// Address is where notifications go; its meaning depends on Type (an
	// HTTP/S URL for generic, a repository URL for commit status types, a
	// project or topic for others).
	// +optional
	Address string `json:"address,omitempty"`

	// Timeout for delivering one notification; defaults to
	// DefaultProviderTimeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Proxy is the HTTP/S URL of a proxy server; superseded by
	// ProxySecretRef.
	// +kubebuilder:validation:Pattern="^(http|https)://"
	// +optional
	Proxy string `json:"proxy,omitempty"`

	// ProxySecretRef names a Secret with the proxy to use: an "address"
	// key and optional "username" and "password" keys.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// SecretRef names a Secret with the service credentials (such as
	// "token", "address", "username"/"password", depending on Type).
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// ServiceAccountName is a ServiceAccount in the same namespace whose
	// workload identity authenticates to the cloud service (azureeventhub,
	// azuredevops and googlepubsub). It cannot be combined with static
	// credentials in SecretRef.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret with TLS material: "ca.crt" to trust a
	// server, and "tls.crt" plus "tls.key" for client authentication. The
	// older keys "caFile", "certFile" and "keyFile" are still read.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// Suspend stops delivering notifications through this provider.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// CommitStatusExpr is a CEL expression over event, provider and alert
	// that yields the commit status text; only for the commit status
	// provider types (see CommitStatusProviders).
	// +optional
	CommitStatusExpr string `json:"commitStatusExpr,omitempty"`
}

// ProviderStatus is the status that v1beta1 and v1beta2 Providers carried;
// from v1beta3 on Providers are static and have none.
type ProviderStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// Conditions of the provider, Ready among them.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Provider describes a notification service, such as a chat channel, a
// webhook or a git forge's commit status API, that Alerts send events to.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-notifications
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"
type Provider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProviderSpec   `json:"spec,omitempty"`
	Status ProviderStatus `json:"status,omitempty"`
}

// ProviderList is a list of Providers.
//
// +kubebuilder:object:root=true
type ProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Provider `json:"items"`
}

// GetTimeout returns spec.timeout, or DefaultProviderTimeout.
func (in *Provider) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil {
		return DefaultProviderTimeout
	}
	return in.Spec.Timeout.Duration
}

// GetConditions returns the status conditions.
func (in *Provider) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Provider) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

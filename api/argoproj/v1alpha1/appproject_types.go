package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AppProject groups Applications and restricts them: which repositories
// they may use, where they may deploy, which kinds of objects they may
// manage, when they may sync, and who may act on them.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=appprojects,shortName=appproj;appprojs
type AppProject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the project's rules.
	Spec AppProjectSpec `json:"spec"`

	// Status holds data the server keeps about the project.
	// +optional
	Status AppProjectStatus `json:"status,omitempty"`
}

// AppProjectList is a list of AppProject objects.
//
// +kubebuilder:object:root=true
type AppProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppProject `json:"items"`
}

// AppProjectSpec holds the rules of an AppProject. Names and URLs in its
// lists accept glob patterns; in SourceRepos and Destinations an entry
// starting with "!" denies what it matches.
type AppProjectSpec struct {
	// SourceRepos are the repository URLs the project's Applications may
	// use; "*" allows any.
	// +optional
	SourceRepos []string `json:"sourceRepos,omitempty"`

	// Destinations are the clusters and namespaces the project's
	// Applications may deploy to.
	// +optional
	Destinations []ApplicationDestination `json:"destinations,omitempty"`

	// Description describes the project.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Description string `json:"description,omitempty"`

	// Roles are the project's roles, for access control.
	// +optional
	Roles []ProjectRole `json:"roles,omitempty"`

	// ClusterResourceWhitelist lists the cluster-scoped kinds the
	// project's Applications may manage. When empty, none are allowed.
	// +optional
	ClusterResourceWhitelist []ClusterResourceRestrictionItem `json:"clusterResourceWhitelist,omitempty"`

	// ClusterResourceBlacklist lists cluster-scoped kinds the project's
	// Applications may not manage.
	// +optional
	ClusterResourceBlacklist []ClusterResourceRestrictionItem `json:"clusterResourceBlacklist,omitempty"`

	// NamespaceResourceBlacklist lists namespaced kinds the project's
	// Applications may not manage.
	// +optional
	NamespaceResourceBlacklist []GroupKind `json:"namespaceResourceBlacklist,omitempty"`

	// NamespaceResourceWhitelist lists the namespaced kinds the project's
	// Applications may manage. When unset, all are allowed.
	// +optional
	NamespaceResourceWhitelist []GroupKind `json:"namespaceResourceWhitelist,omitempty"`

	// OrphanedResources turns on reporting of objects in the destination
	// namespaces that no Application manages.
	// +optional
	OrphanedResources *OrphanedResourcesMonitorSettings `json:"orphanedResources,omitempty"`

	// SyncWindows restrict when the project's Applications may sync.
	// +optional
	SyncWindows []SyncWindow `json:"syncWindows,omitempty"`

	// SignatureKeys are the GnuPG key IDs one of which must have signed a
	// Git commit for it to be synced.
	// +optional
	SignatureKeys []SignatureKey `json:"signatureKeys,omitempty"`

	// SourceNamespaces are the namespaces, besides the controller's own,
	// in which Applications of this project may be created.
	// +optional
	SourceNamespaces []string `json:"sourceNamespaces,omitempty"`

	// PermitOnlyProjectScopedClusters limits destinations to clusters
	// registered for this project.
	// +optional
	PermitOnlyProjectScopedClusters bool `json:"permitOnlyProjectScopedClusters,omitempty"`

	// DestinationServiceAccounts name the service accounts syncs
	// impersonate, per destination.
	// +optional
	DestinationServiceAccounts []ApplicationDestinationServiceAccount `json:"destinationServiceAccounts,omitempty"`
}

// AppProjectStatus holds data the server keeps about an AppProject.
type AppProjectStatus struct {
	// JWTTokensByRole lists the tokens issued for each role, by role name.
	// +optional
	JWTTokensByRole map[string]JWTTokens `json:"jwtTokensByRole,omitempty"`
}

// GroupKind names a kind of object by API group and kind. The empty group
// is the core group; both fields accept glob patterns.
type GroupKind struct {
	// Group is the API group.
	Group string `json:"group"`

	// Kind is the kind.
	Kind string `json:"kind"`
}

// ClusterResourceRestrictionItem names cluster-scoped objects by API group,
// kind and, optionally, name. All fields accept glob patterns.
type ClusterResourceRestrictionItem struct {
	// Group is the API group; empty for the core group.
	Group string `json:"group"`

	// Kind is the kind.
	Kind string `json:"kind"`

	// Name limits the entry to objects with a matching name; all objects
	// of the kind when empty.
	// +optional
	Name string `json:"name,omitempty"`
}

// ProjectRole is a role within a project.
type ProjectRole struct {
	// Name of the role.
	Name string `json:"name"`

	// Description of the role.
	// +optional
	Description string `json:"description,omitempty"`

	// Policies are Casbin policy lines granting the role permissions, of
	// the form "p, proj:<project>:<role>, <resource>, <action>,
	// <project>/<object>, allow|deny".
	// +optional
	Policies []string `json:"policies,omitempty"`

	// JWTTokens are the tokens issued for the role.
	// +optional
	JWTTokens []JWTToken `json:"jwtTokens,omitempty"`

	// Groups are the SSO groups whose members hold the role.
	// +optional
	Groups []string `json:"groups,omitempty"`
}

// JWTToken records a token issued for a project role.
type JWTToken struct {
	// IssuedAt is when the token was issued, in Unix seconds.
	IssuedAt int64 `json:"iat"`

	// ExpiresAt is when the token expires, in Unix seconds; zero means
	// never.
	// +optional
	ExpiresAt int64 `json:"exp,omitempty"`

	// ID identifies the token.
	// +optional
	ID string `json:"id,omitempty"`
}

// JWTTokens is a list of tokens.
type JWTTokens struct {
	// Items are the tokens.
	// +optional
	Items []JWTToken `json:"items,omitempty"`
}

// OrphanedResourcesMonitorSettings configures the reporting of orphaned
// objects.
type OrphanedResourcesMonitorSettings struct {
	// Warn adds an OrphanedResourceWarning condition to Applications whose
	// namespaces hold orphaned objects.
	// +optional
	Warn *bool `json:"warn,omitempty"`

	// Ignore lists objects that are never reported as orphaned.
	// +optional
	Ignore []OrphanedResourceKey `json:"ignore,omitempty"`
}

// OrphanedResourceKey selects objects that are not reported as orphaned.
type OrphanedResourceKey struct {
	// Group is the API group.
	// +optional
	Group string `json:"group,omitempty"`

	// Kind is the kind.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name is the object name; a glob pattern.
	// +optional
	Name string `json:"name,omitempty"`
}

// SyncWindow opens or closes a recurring period during which the matching
// Applications may sync.
type SyncWindow struct {
	// Kind is "allow" or "deny".
	// +optional
	Kind string `json:"kind,omitempty"`

	// Schedule is a cron expression giving when the window begins.
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// Duration is how long the window lasts, as a Go duration such as
	// "1h".
	// +optional
	Duration string `json:"duration,omitempty"`

	// Applications selects Applications by name.
	// +optional
	Applications []string `json:"applications,omitempty"`

	// Namespaces selects Applications by destination namespace.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// Clusters selects Applications by destination cluster name or URL.
	// +optional
	Clusters []string `json:"clusters,omitempty"`

	// ManualSync lets users sync by hand while the window would forbid
	// it.
	// +optional
	ManualSync bool `json:"manualSync,omitempty"`

	// TimeZone is the IANA time zone of Schedule; UTC when empty.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// UseAndOperator requires an Application to match all of
	// Applications, Namespaces and Clusters that are set, instead of any.
	// +optional
	UseAndOperator bool `json:"andOperator,omitempty"`

	// Description describes the window, e.g. with a ticket number.
	// +optional
	Description string `json:"description,omitempty"`
}

// Sync window kinds.
const (
	// SyncWindowKindAllow allows syncs while the window is open and
	// forbids them otherwise.
	SyncWindowKindAllow = "allow"
	// SyncWindowKindDeny forbids syncs while the window is open.
	SyncWindowKindDeny = "deny"
)

// SignatureKey names a GnuPG key.
type SignatureKey struct {
	// KeyID is the key ID in hexadecimal.
	KeyID string `json:"keyID"`
}

// ApplicationDestinationServiceAccount names the service account that syncs
// to a destination impersonate.
type ApplicationDestinationServiceAccount struct {
	// Server is the destination cluster's API server URL; a glob pattern.
	Server string `json:"server"`

	// Namespace is the destination namespace; a glob pattern.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// DefaultServiceAccount is the service account to impersonate, as
	// "name" or "namespace:name".
	DefaultServiceAccount string `json:"defaultServiceAccount"`
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Application asks Tether to keep a set of Kubernetes objects, rendered from
// one or more sources, in step with a destination cluster and namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=applications,shortName=app;apps
// +kubebuilder:printcolumn:name="Sync Status",type=string,JSONPath=`.status.sync.status`
// +kubebuilder:printcolumn:name="Health Status",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sync.revision`,priority=10
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.project`,priority=10
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state: where the manifests come from, where they
	// go and how syncing behaves.
	Spec ApplicationSpec `json:"spec"`

	// Status is what the controller last observed.
	// +optional
	Status ApplicationStatus `json:"status,omitempty"`

	// Operation, when set, requests a one-off operation (a sync or a
	// rollback). Users and the CLI write it; the controller clears it once
	// the operation has finished and records the outcome in
	// status.operationState.
	// +optional
	Operation *Operation `json:"operation,omitempty"`
}

// ApplicationList is a list of Application objects.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

// GetSources returns spec.sources, or spec.source as a list of one.
func (s *ApplicationSpec) GetSources() []ApplicationSource {
	if len(s.Sources) > 0 {
		return s.Sources
	}
	if s.Source != nil {
		return []ApplicationSource{*s.Source}
	}
	return nil
}

// ApplicationSpec is the desired state of an Application.
type ApplicationSpec struct {
	// Source is the single place the manifests come from. Leave it empty
	// when Sources or SourceHydrator is used.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`

	// Destination names the cluster and default namespace to deploy to.
	Destination ApplicationDestination `json:"destination"`

	// Project is the name of the AppProject the Application belongs to.
	// An empty string means the project named "default".
	Project string `json:"project"`

	// SyncPolicy says when and how syncs are run.
	// +optional
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`

	// IgnoreDifferences lists fields of live objects that are left out when
	// the desired and the live state are compared.
	// +optional
	IgnoreDifferences []ResourceIgnoreDifferences `json:"ignoreDifferences,omitempty"`

	// Info is free-form name/value information (links, contacts, notes)
	// shown alongside the Application.
	// +optional
	Info []Info `json:"info,omitempty"`

	// RevisionHistoryLimit caps the number of entries kept in
	// status.history. Zero keeps none; when unset, 10 are kept.
	// +optional
	RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`

	// Sources lists several sources whose manifests are combined. When
	// it is not empty, Source is ignored.
	// +optional
	Sources []ApplicationSource `json:"sources,omitempty"`

	// SourceHydrator renders manifests from a "dry" source, commits the
	// result to Git and syncs from that commit. When set, Source and
	// Sources are ignored.
	// +optional
	SourceHydrator *SourceHydrator `json:"sourceHydrator,omitempty"`
}

// ApplicationDestination names a target cluster and namespace. The cluster
// is given either by its API server URL (Server) or by the name of a
// registered cluster (Name), not both.
type ApplicationDestination struct {
	// Server is the URL of the target cluster's API server.
	// +optional
	Server string `json:"server,omitempty"`

	// Namespace is the namespace given to namespaced objects that do not
	// set metadata.namespace themselves.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name is the name of a registered cluster, an alternative to Server.
	// +optional
	Name string `json:"name,omitempty"`
}

// SyncPolicy controls when and how an Application is synced.
type SyncPolicy struct {
	// Automated, when set, makes the controller sync on its own whenever
	// the desired state changes.
	// +optional
	Automated *SyncPolicyAutomated `json:"automated,omitempty"`

	// SyncOptions are "Name=value" options applied to every sync of the
	// Application, such as "CreateNamespace=true".
	// +optional
	SyncOptions []string `json:"syncOptions,omitempty"`

	// Retry says how failed syncs are retried.
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`

	// ManagedNamespaceMetadata holds labels and annotations to set on the
	// destination namespace when it is created by the sync
	// (CreateNamespace=true).
	// +optional
	ManagedNamespaceMetadata *ManagedNamespaceMetadata `json:"managedNamespaceMetadata,omitempty"`
}

// SyncPolicyAutomated tunes automatic syncing.
type SyncPolicyAutomated struct {
	// Prune allows automatic syncs to delete live objects that are no
	// longer in the desired state. Defaults to false.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// SelfHeal makes the controller sync again when live objects drift
	// from the desired state even though the desired state did not change.
	// Defaults to false.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`

	// AllowEmpty allows an automatic sync to leave the Application with no
	// objects at all. Defaults to false.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`

	// Enabled switches automatic syncing on or off while keeping the rest
	// of this block. Unset means on.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// RetryStrategy says how a failed sync is retried.
type RetryStrategy struct {
	// Limit is the largest number of retries. Zero means no retry; a
	// negative value means retry without end.
	// +optional
	Limit int64 `json:"limit,omitempty"`

	// Backoff sets the wait between retries.
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`

	// Refresh makes each retry use the newest revision of the sources
	// instead of the one the first attempt used. Defaults to false.
	// +optional
	Refresh bool `json:"refresh,omitempty"`
}

// Backoff sets an exponential wait between sync retries: the n-th retry
// waits Duration * Factor^n, never more than MaxDuration.
type Backoff struct {
	// Duration is the first wait. A bare number is read as seconds;
	// otherwise a Go duration such as "5s" or "2m".
	// +optional
	Duration string `json:"duration,omitempty"`

	// Factor multiplies the wait after each failed retry.
	// +optional
	Factor *int64 `json:"factor,omitempty"`

	// MaxDuration caps the wait, in the same format as Duration.
	// +optional
	MaxDuration string `json:"maxDuration,omitempty"`
}

// ManagedNamespaceMetadata holds metadata to put on a namespace that a sync
// creates.
type ManagedNamespaceMetadata struct {
	// Labels to set on the namespace.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations to set on the namespace.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ResourceIgnoreDifferences selects objects and the parts of them that are
// ignored when the desired and the live state are compared.
type ResourceIgnoreDifferences struct {
	// Group is the API group of the objects; empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`

	// Kind is the kind of the objects.
	Kind string `json:"kind"`

	// Name limits the rule to objects with this name.
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace limits the rule to objects in this namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// JSONPointers are RFC 6901 pointers to the ignored fields.
	// +optional
	JSONPointers []string `json:"jsonPointers,omitempty"`

	// JQPathExpressions are jq path expressions selecting the ignored
	// fields.
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`

	// ManagedFieldsManagers are field managers whose changes to live
	// objects are accepted and not reported as drift.
	// +optional
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// Info is one name/value pair of free-form information.
type Info struct {
	// Name is the label of the information.
	Name string `json:"name"`

	// Value is the information itself, such as a URL or a note.
	Value string `json:"value"`
}

// Well-known names used with Applications.
const (
	// DefaultAppProjectName is the project an Application belongs to when
	// spec.project is empty.
	DefaultAppProjectName = "default"

	// KubernetesInternalAPIServerAddr is the destination server URL that
	// stands for the cluster the controller runs in.
	KubernetesInternalAPIServerAddr = "https://kubernetes.default.svc"

	// InClusterName is the destination name that stands for the cluster
	// the controller runs in.
	InClusterName = "in-cluster"

	// DefaultRevisionHistoryLimit is the number of status.history entries
	// kept when spec.revisionHistoryLimit is unset.
	DefaultRevisionHistoryLimit = 10
)

// Finalizers that users put on Applications.
const (
	// ResourcesFinalizerName on an Application makes its deletion delete
	// the objects it manages first (foreground cascading deletion).
	ResourcesFinalizerName = "resources-finalizer.argocd.argoproj.io"

	// ForegroundPropagationPolicyFinalizer is the explicit form of
	// ResourcesFinalizerName asking for foreground deletion.
	ForegroundPropagationPolicyFinalizer = "resources-finalizer.argocd.argoproj.io/foreground"

	// BackgroundPropagationPolicyFinalizer asks for the managed objects to
	// be deleted with background propagation.
	BackgroundPropagationPolicyFinalizer = "resources-finalizer.argocd.argoproj.io/background"

	// PostDeleteFinalizerName is set while the post-delete hooks of an
	// Application run.
	PostDeleteFinalizerName = "post-delete-finalizer.argocd.argoproj.io"
)

// Annotations and labels that users and tools put on Applications and on
// the objects they manage.
const (
	// AnnotationKeyTrackingID is set on each managed object to record which
	// Application owns it. Its value has the form
	// "<app>:<group>/<kind>:<namespace>/<name>".
	AnnotationKeyTrackingID = "argocd.argoproj.io/tracking-id"

	// LabelKeyAppInstance is the label that records the owning Application
	// when label-based tracking is used.
	LabelKeyAppInstance = "app.kubernetes.io/instance"

	// AnnotationKeyRefresh on an Application asks for an immediate
	// refresh; its value is "normal" or "hard".
	AnnotationKeyRefresh = "argocd.argoproj.io/refresh"

	// AnnotationKeyHydrate on an Application asks for an immediate
	// hydration; its value is "normal".
	AnnotationKeyHydrate = "argocd.argoproj.io/hydrate"

	// AnnotationSyncOptions on a managed object holds comma-separated sync
	// options for that object alone, such as "Prune=false".
	AnnotationSyncOptions = "argocd.argoproj.io/sync-options"

	// AnnotationCompareOptions on a managed object holds comma-separated
	// comparison options, such as "IgnoreExtraneous".
	AnnotationCompareOptions = "argocd.argoproj.io/compare-options"

	// AnnotationSyncWave on a managed object orders it within a sync
	// phase; lower waves are applied first. The value is an integer.
	AnnotationSyncWave = "argocd.argoproj.io/sync-wave"

	// AnnotationHook on a managed object makes it a hook of the listed
	// phases (comma-separated HookType values).
	AnnotationHook = "argocd.argoproj.io/hook"

	// AnnotationHookDeletePolicy on a hook says when it is deleted:
	// "HookSucceeded", "HookFailed" or "BeforeHookCreation".
	AnnotationHookDeletePolicy = "argocd.argoproj.io/hook-delete-policy"

	// AnnotationManifestGeneratePaths on an Application lists the paths
	// whose changes require new manifests to be rendered.
	AnnotationManifestGeneratePaths = "argocd.argoproj.io/manifest-generate-paths"

	// AnnotationKeyLinkPrefix prefixes annotations whose values are URLs
	// to list in status.summary.externalURLs.
	AnnotationKeyLinkPrefix = "link.argocd.argoproj.io/"

	// LabelKeySecretType on a Secret marks it as Argo CD configuration;
	// see the SecretType* values.
	LabelKeySecretType = "argocd.argoproj.io/secret-type"
)

// Values of the LabelKeySecretType label.
const (
	// SecretTypeCluster marks a Secret that registers a destination
	// cluster (keys: name, server, config, and optionally namespaces,
	// project, clusterResources).
	SecretTypeCluster = "cluster"
	// SecretTypeRepository marks a Secret that registers a repository.
	SecretTypeRepository = "repository"
	// SecretTypeRepoCreds marks a Secret holding credentials for every
	// repository whose URL starts with its url key.
	SecretTypeRepoCreds = "repo-creds"
	// SecretTypeRepositoryWrite marks a Secret that registers a repository
	// the source hydrator writes to.
	SecretTypeRepositoryWrite = "repository-write"
	// SecretTypeRepoWriteCreds marks a Secret holding write credentials
	// for every repository whose URL starts with its url key.
	SecretTypeRepoWriteCreds = "repo-write-creds"
)

// Sync options, for spec.syncPolicy.syncOptions, operation.sync.syncOptions
// or the AnnotationSyncOptions annotation.
const (
	// SyncOptionCreateNamespace creates the destination namespace if it
	// does not exist.
	SyncOptionCreateNamespace = "CreateNamespace=true"
	// SyncOptionPruneLast deletes pruned objects after all other objects
	// have been applied and are healthy.
	SyncOptionPruneLast = "PruneLast=true"
	// SyncOptionServerSideApply applies objects with server-side apply.
	SyncOptionServerSideApply = "ServerSideApply=true"
	// SyncOptionApplyOutOfSyncOnly applies only the objects that are out
	// of sync.
	SyncOptionApplyOutOfSyncOnly = "ApplyOutOfSyncOnly=true"
	// SyncOptionReplace replaces objects instead of applying them.
	SyncOptionReplace = "Replace=true"
	// SyncOptionValidateFalse turns off schema validation on apply.
	SyncOptionValidateFalse = "Validate=false"
	// SyncOptionRespectIgnoreDifferences keeps ignored fields as they are
	// in the live object when applying.
	SyncOptionRespectIgnoreDifferences = "RespectIgnoreDifferences=true"
	// SyncOptionFailOnSharedResource fails the sync when an object is
	// already managed by another Application.
	SyncOptionFailOnSharedResource = "FailOnSharedResource=true"
	// SyncOptionSkipDryRunOnMissingResource skips the dry run for objects
	// whose kind is not known to the cluster yet.
	SyncOptionSkipDryRunOnMissingResource = "SkipDryRunOnMissingResource=true"
	// SyncOptionDisablePrune, on an object, keeps it from being pruned.
	SyncOptionDisablePrune = "Prune=false"
	// SyncOptionDisableDelete, on an object, keeps it when the
	// Application is deleted.
	SyncOptionDisableDelete = "Delete=false"
	// SyncOptionPrunePropagationPolicyPrefix prefixes the option that sets
	// the deletion propagation policy used when pruning: "foreground",
	// "background" or "orphan".
	SyncOptionPrunePropagationPolicyPrefix = "PrunePropagationPolicy="
)

// Compare options, for the AnnotationCompareOptions annotation.
const (
	// CompareOptionIgnoreExtraneous leaves an object out of the sync
	// status when it is not in the desired state.
	CompareOptionIgnoreExtraneous = "IgnoreExtraneous"
	// CompareOptionServerSideDiff computes the diff with a server-side
	// dry run.
	CompareOptionServerSideDiff = "ServerSideDiff=true"
	// CompareOptionIncludeMutationWebhook includes changes made by
	// mutating webhooks in a server-side diff.
	CompareOptionIncludeMutationWebhook = "IncludeMutationWebhook=true"
)

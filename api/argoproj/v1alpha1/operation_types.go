package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Operation requests a one-off operation on an Application. Only sync
// operations exist; a rollback is a sync to a past source and revision.
type Operation struct {
	// Sync describes the requested sync.
	// +optional
	Sync *SyncOperation `json:"sync,omitempty"`

	// InitiatedBy tells who requested the operation.
	// +optional
	InitiatedBy OperationInitiator `json:"initiatedBy,omitempty"`

	// Info is free-form name/value information about the operation.
	// +optional
	Info []Info `json:"info,omitempty"`

	// Retry says how the operation is retried when it fails.
	// +optional
	Retry RetryStrategy `json:"retry,omitempty"`
}

// OperationInitiator tells who requested an operation.
type OperationInitiator struct {
	// Username is the user who requested the operation.
	// +optional
	Username string `json:"username,omitempty"`

	// Automated is true when the controller requested the operation
	// itself, as an automatic sync.
	// +optional
	Automated bool `json:"automated,omitempty"`
}

// SyncOperation describes a requested sync.
type SyncOperation struct {
	// Revision is the revision to sync to; spec.source.targetRevision when
	// empty.
	// +optional
	Revision string `json:"revision,omitempty"`

	// Revisions are the revisions to sync each of spec.sources to.
	// +optional
	Revisions []string `json:"revisions,omitempty"`

	// Prune allows the sync to delete objects that are no longer desired.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// DryRun runs the sync without changing the cluster.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`

	// SyncStrategy says how objects are applied.
	// +optional
	SyncStrategy *SyncStrategy `json:"syncStrategy,omitempty"`

	// Resources limits the sync to these objects; all objects when empty.
	// +optional
	Resources []SyncOperationResource `json:"resources,omitempty"`

	// Source replaces spec.source for this sync; set by rollbacks.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`

	// Sources replaces spec.sources for this sync; set by rollbacks.
	// +optional
	Sources []ApplicationSource `json:"sources,omitempty"`

	// Manifests replaces the rendered manifests for this sync; used for
	// local development.
	// +optional
	Manifests []string `json:"manifests,omitempty"`

	// SyncOptions are extra sync options for this sync only.
	// +optional
	SyncOptions []string `json:"syncOptions,omitempty"`

	// SelfHealAttemptsCount counts the self-heal syncs made so far.
	// +optional
	SelfHealAttemptsCount int64 `json:"autoHealAttemptsCount,omitempty"`
}

// SyncOperationResource selects one object for a partial sync.
type SyncOperationResource struct {
	// Group is the API group of the object.
	// +optional
	Group string `json:"group,omitempty"`

	// Kind is the kind of the object.
	Kind string `json:"kind"`

	// Name is the name of the object.
	Name string `json:"name"`

	// Namespace is the namespace of the object.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SyncStrategy says how objects are applied during a sync. With neither
// field set, the hook strategy is used.
type SyncStrategy struct {
	// Apply applies the objects with "kubectl apply" and runs no hooks.
	// +optional
	Apply *SyncStrategyApply `json:"apply,omitempty"`

	// Hook applies the objects and runs the sync hooks. This is the
	// default.
	// +optional
	Hook *SyncStrategyHook `json:"hook,omitempty"`
}

// SyncStrategyApply holds the options of the apply strategy.
type SyncStrategyApply struct {
	// Force deletes and recreates objects that cannot be patched
	// ("kubectl apply --force").
	// +optional
	Force bool `json:"force,omitempty"`
}

// SyncStrategyHook holds the options of the hook strategy.
type SyncStrategyHook struct {
	// SyncStrategyApply holds the apply options, which the hook strategy
	// shares.
	SyncStrategyApply `json:",inline"`
}

// OperationState describes the running or last finished operation.
type OperationState struct {
	// Operation is the operation as it was requested.
	Operation Operation `json:"operation"`

	// Phase is the state of the operation.
	Phase OperationPhase `json:"phase"`

	// Message explains the phase, typically with an error.
	// +optional
	Message string `json:"message,omitempty"`

	// SyncResult is the outcome of a sync.
	// +optional
	SyncResult *SyncOperationResult `json:"syncResult,omitempty"`

	// StartedAt is when the operation started.
	StartedAt metav1.Time `json:"startedAt"`

	// FinishedAt is when the operation finished.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// RetryCount is the number of retries made so far.
	// +optional
	RetryCount int64 `json:"retryCount,omitempty"`
}

// SyncOperationResult is the outcome of a sync.
type SyncOperationResult struct {
	// Resources holds the outcome for each object and hook.
	// +optional
	Resources []ResourceResult `json:"resources,omitempty"`

	// Revision is the resolved revision that was synced.
	Revision string `json:"revision"`

	// Revisions are the resolved revisions of each source synced.
	// +optional
	Revisions []string `json:"revisions,omitempty"`

	// Source is the source that was synced.
	// +optional
	Source ApplicationSource `json:"source,omitempty"`

	// Sources are the sources that were synced.
	// +optional
	Sources []ApplicationSource `json:"sources,omitempty"`

	// ManagedNamespaceMetadata is the namespace metadata the sync applied.
	// +optional
	ManagedNamespaceMetadata *ManagedNamespaceMetadata `json:"managedNamespaceMetadata,omitempty"`
}

// ResourceResult is the outcome of a sync for one object or hook.
type ResourceResult struct {
	// Group is the API group of the object.
	Group string `json:"group"`

	// Version is the API version of the object.
	Version string `json:"version"`

	// Kind is the kind of the object.
	Kind string `json:"kind"`

	// Namespace is the namespace of the object.
	Namespace string `json:"namespace"`

	// Name is the name of the object.
	Name string `json:"name"`

	// Status is the outcome for the object; empty for hooks and for
	// objects not handled yet.
	// +optional
	Status ResultCode `json:"status,omitempty"`

	// Message explains the outcome.
	// +optional
	Message string `json:"message,omitempty"`

	// HookType is the kind of hook; empty for ordinary objects.
	// +optional
	HookType HookType `json:"hookType,omitempty"`

	// HookPhase is the state of the hook, or of the object's operation.
	// +optional
	HookPhase OperationPhase `json:"hookPhase,omitempty"`

	// SyncPhase is the sync phase the outcome belongs to.
	// +optional
	SyncPhase SyncPhase `json:"syncPhase,omitempty"`

	// Images are the container images the object uses.
	// +optional
	Images []string `json:"images,omitempty"`
}

// OperationPhase is the state of an operation or of a hook.
type OperationPhase string

// Operation phases.
const (
	// OperationRunning means the operation is in progress.
	OperationRunning OperationPhase = "Running"
	// OperationTerminating means the operation is being stopped at a
	// user's request.
	OperationTerminating OperationPhase = "Terminating"
	// OperationFailed means the operation ran and failed.
	OperationFailed OperationPhase = "Failed"
	// OperationError means the operation could not run.
	OperationError OperationPhase = "Error"
	// OperationSucceeded means the operation finished successfully.
	OperationSucceeded OperationPhase = "Succeeded"
)

// ResultCode is the outcome of a sync for one object.
type ResultCode string

// Result codes.
const (
	// ResultCodeSynced means the object was applied.
	ResultCodeSynced ResultCode = "Synced"
	// ResultCodeSyncFailed means applying the object failed.
	ResultCodeSyncFailed ResultCode = "SyncFailed"
	// ResultCodePruned means the object was deleted.
	ResultCodePruned ResultCode = "Pruned"
	// ResultCodePruneSkipped means the object should be deleted but
	// pruning was not allowed.
	ResultCodePruneSkipped ResultCode = "PruneSkipped"
)

// HookType is the kind of a sync hook; it names the phase the hook runs in.
type HookType string

// Hook types, the values of the AnnotationHook annotation.
const (
	// HookTypePreSync runs before the objects are applied.
	HookTypePreSync HookType = "PreSync"
	// HookTypeSync runs with the objects.
	HookTypeSync HookType = "Sync"
	// HookTypePostSync runs after all objects are applied and healthy.
	HookTypePostSync HookType = "PostSync"
	// HookTypeSyncFail runs when the sync fails.
	HookTypeSyncFail HookType = "SyncFail"
	// HookTypePostDelete runs after the Application's objects are
	// deleted.
	HookTypePostDelete HookType = "PostDelete"
	// HookTypeSkip makes the object skipped by syncs.
	HookTypeSkip HookType = "Skip"
)

// SyncPhase is a phase of a sync.
type SyncPhase string

// Sync phases.
const (
	// SyncPhasePreSync runs PreSync hooks.
	SyncPhasePreSync SyncPhase = "PreSync"
	// SyncPhaseSync applies the objects and runs Sync hooks.
	SyncPhaseSync SyncPhase = "Sync"
	// SyncPhasePostSync runs PostSync hooks.
	SyncPhasePostSync SyncPhase = "PostSync"
	// SyncPhaseSyncFail runs SyncFail hooks.
	SyncPhaseSyncFail SyncPhase = "SyncFail"
	// SyncPhasePostDelete runs PostDelete hooks.
	SyncPhasePostDelete SyncPhase = "PostDelete"
)

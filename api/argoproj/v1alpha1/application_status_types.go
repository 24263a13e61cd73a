package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplicationStatus is the observed state of an Application.
type ApplicationStatus struct {
	// Resources lists the objects the Application manages, with their sync
	// and health status.
	// +optional
	Resources []ResourceStatus `json:"resources,omitempty"`

	// Sync is the result of the last comparison of desired and live state.
	// +optional
	Sync SyncStatus `json:"sync,omitempty"`

	// Health is the aggregated health of the managed objects.
	// +optional
	Health HealthStatus `json:"health,omitempty"`

	// History lists past syncs, oldest first.
	// +optional
	History []RevisionHistory `json:"history,omitempty"`

	// Conditions lists current errors and warnings.
	// +optional
	Conditions []ApplicationCondition `json:"conditions,omitempty"`

	// ReconciledAt is when the state was last compared against freshly
	// fetched sources.
	// +optional
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`

	// OperationState describes the running or last finished operation.
	// +optional
	OperationState *OperationState `json:"operationState,omitempty"`

	// ObservedAt is when the state was last refreshed without fetching
	// the sources. Deprecated: no longer updated.
	// +optional
	ObservedAt *metav1.Time `json:"observedAt,omitempty"`

	// SourceType is the tool used to render the source.
	// +optional
	SourceType ApplicationSourceType `json:"sourceType,omitempty"`

	// SourceTypes are the tools used to render each of spec.sources.
	// +optional
	SourceTypes []ApplicationSourceType `json:"sourceTypes,omitempty"`

	// Summary lists the external URLs and images of the managed objects.
	// +optional
	Summary ApplicationSummary `json:"summary,omitempty"`

	// ResourceHealthSource says where per-object health is kept: empty
	// for inline in Resources, "appTree" for elsewhere.
	// +optional
	ResourceHealthSource ResourceHealthLocation `json:"resourceHealthSource,omitempty"`

	// ControllerNamespace is the namespace of the controller that
	// reconciles the Application.
	// +optional
	ControllerNamespace string `json:"controllerNamespace,omitempty"`

	// SourceHydrator reports on hydration when spec.sourceHydrator is set.
	// +optional
	SourceHydrator SourceHydratorStatus `json:"sourceHydrator,omitempty"`
}

// ApplicationSourceType names the tool that renders a source.
type ApplicationSourceType string

// Source types.
const (
	// ApplicationSourceTypeHelm is a Helm chart.
	ApplicationSourceTypeHelm ApplicationSourceType = "Helm"
	// ApplicationSourceTypeKustomize is a Kustomize directory.
	ApplicationSourceTypeKustomize ApplicationSourceType = "Kustomize"
	// ApplicationSourceTypeDirectory is a directory of plain manifests or
	// Jsonnet.
	ApplicationSourceTypeDirectory ApplicationSourceType = "Directory"
	// ApplicationSourceTypePlugin is a config management plugin.
	ApplicationSourceTypePlugin ApplicationSourceType = "Plugin"
)

// ResourceHealthLocation says where per-object health is kept.
type ResourceHealthLocation string

// Resource health locations.
const (
	// ResourceHealthLocationInline keeps health in status.resources.
	ResourceHealthLocationInline ResourceHealthLocation = ""
	// ResourceHealthLocationAppTree keeps health out of the Application.
	ResourceHealthLocationAppTree ResourceHealthLocation = "appTree"
)

// SyncStatusCode is the result of comparing desired and live state.
type SyncStatusCode string

// Sync status codes.
const (
	// SyncStatusCodeSynced means live state matches desired state.
	SyncStatusCodeSynced SyncStatusCode = "Synced"
	// SyncStatusCodeOutOfSync means live state differs from desired state.
	SyncStatusCodeOutOfSync SyncStatusCode = "OutOfSync"
	// SyncStatusCodeUnknown means the comparison could not be made.
	SyncStatusCodeUnknown SyncStatusCode = "Unknown"
)

// HealthStatusCode is the health of an object or Application.
type HealthStatusCode string

// Health status codes.
const (
	// HealthStatusHealthy means the object works as intended.
	HealthStatusHealthy HealthStatusCode = "Healthy"
	// HealthStatusProgressing means the object is not healthy yet but may
	// become so.
	HealthStatusProgressing HealthStatusCode = "Progressing"
	// HealthStatusDegraded means the object failed or cannot become
	// healthy in time.
	HealthStatusDegraded HealthStatusCode = "Degraded"
	// HealthStatusSuspended means the object is paused or waiting for an
	// outside event.
	HealthStatusSuspended HealthStatusCode = "Suspended"
	// HealthStatusMissing means the object does not exist in the cluster.
	HealthStatusMissing HealthStatusCode = "Missing"
	// HealthStatusUnknown means the health could not be assessed.
	HealthStatusUnknown HealthStatusCode = "Unknown"
)

// ApplicationConditionType names a kind of Application condition. Types
// ending in "Error" are errors, those ending in "Warning" are warnings.
type ApplicationConditionType string

// Application condition types.
const (
	// ApplicationConditionDeletionError: deleting the Application failed.
	ApplicationConditionDeletionError ApplicationConditionType = "DeletionError"
	// ApplicationConditionInvalidSpecError: the spec is invalid, e.g. its
	// project or destination is not allowed.
	ApplicationConditionInvalidSpecError ApplicationConditionType = "InvalidSpecError"
	// ApplicationConditionComparisonError: desired and live state could
	// not be compared, e.g. rendering failed.
	ApplicationConditionComparisonError ApplicationConditionType = "ComparisonError"
	// ApplicationConditionSyncError: an automatic sync failed.
	ApplicationConditionSyncError ApplicationConditionType = "SyncError"
	// ApplicationConditionUnknownError: an unexpected controller error.
	ApplicationConditionUnknownError ApplicationConditionType = "UnknownError"
	// ApplicationConditionSharedResourceWarning: an object is also managed
	// by another Application.
	ApplicationConditionSharedResourceWarning ApplicationConditionType = "SharedResourceWarning"
	// ApplicationConditionRepeatedResourceWarning: the rendered manifests
	// contain the same object more than once.
	ApplicationConditionRepeatedResourceWarning ApplicationConditionType = "RepeatedResourceWarning"
	// ApplicationConditionExcludedResourceWarning: the manifests contain
	// an object of a kind that is excluded from management.
	ApplicationConditionExcludedResourceWarning ApplicationConditionType = "ExcludedResourceWarning"
	// ApplicationConditionOrphanedResourceWarning: the destination
	// namespace has objects that no Application manages.
	ApplicationConditionOrphanedResourceWarning ApplicationConditionType = "OrphanedResourceWarning"
)

// ResourceStatus is the sync and health status of one managed object.
type ResourceStatus struct {
	// Group is the API group of the object.
	// +optional
	Group string `json:"group,omitempty"`

	// Version is the API version of the object.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind is the kind of the object.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Namespace is the namespace of the object.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name is the name of the object.
	// +optional
	Name string `json:"name,omitempty"`

	// Status tells whether the live object matches the desired one.
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`

	// Health is the health of the object.
	// +optional
	Health *HealthStatus `json:"health,omitempty"`

	// Hook is true when the object is a sync hook.
	// +optional
	Hook bool `json:"hook,omitempty"`

	// RequiresPruning is true when the object is no longer desired and
	// will be deleted by a pruning sync.
	// +optional
	RequiresPruning bool `json:"requiresPruning,omitempty"`

	// SyncWave is the object's sync wave.
	// +optional
	SyncWave int64 `json:"syncWave,omitempty"`

	// RequiresDeletionConfirmation is true when deleting the object waits
	// for a user's confirmation.
	// +optional
	RequiresDeletionConfirmation bool `json:"requiresDeletionConfirmation,omitempty"`
}

// SyncStatus is the result of the last comparison of desired and live state.
type SyncStatus struct {
	// Status is the comparison result.
	Status SyncStatusCode `json:"status"`

	// ComparedTo records the spec fields the comparison used.
	// +optional
	ComparedTo ComparedTo `json:"comparedTo,omitempty"`

	// Revision is the resolved revision (such as a commit SHA) that was
	// compared.
	// +optional
	Revision string `json:"revision,omitempty"`

	// Revisions are the resolved revisions of each of spec.sources.
	// +optional
	Revisions []string `json:"revisions,omitempty"`
}

// ComparedTo records the spec fields a comparison was made against.
type ComparedTo struct {
	// Source is the source compared.
	// +optional
	Source ApplicationSource `json:"source,omitempty"`

	// Destination is the destination compared.
	Destination ApplicationDestination `json:"destination"`

	// Sources are the sources compared.
	// +optional
	Sources []ApplicationSource `json:"sources,omitempty"`

	// IgnoreDifferences are the ignore rules in force.
	// +optional
	IgnoreDifferences []ResourceIgnoreDifferences `json:"ignoreDifferences,omitempty"`
}

// HealthStatus is the health of an Application or of one object.
type HealthStatus struct {
	// Status is the health code.
	// +optional
	Status HealthStatusCode `json:"status,omitempty"`

	// Message explains the health code.
	// +optional
	Message string `json:"message,omitempty"`

	// LastTransitionTime is when Status last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// RevisionHistory records one past sync.
type RevisionHistory struct {
	// Revision is the resolved revision that was synced.
	// +optional
	Revision string `json:"revision,omitempty"`

	// DeployedAt is when the sync finished.
	DeployedAt metav1.Time `json:"deployedAt"`

	// ID identifies the entry; it grows by one with each sync.
	ID int64 `json:"id"`

	// Source is the source that was synced.
	// +optional
	Source ApplicationSource `json:"source,omitempty"`

	// DeployStartedAt is when the sync started.
	// +optional
	DeployStartedAt *metav1.Time `json:"deployStartedAt,omitempty"`

	// Sources are the sources that were synced.
	// +optional
	Sources []ApplicationSource `json:"sources,omitempty"`

	// Revisions are the resolved revisions of each source synced.
	// +optional
	Revisions []string `json:"revisions,omitempty"`

	// InitiatedBy tells who started the sync.
	// +optional
	InitiatedBy OperationInitiator `json:"initiatedBy,omitempty"`
}

// ApplicationCondition is an error or warning about an Application.
type ApplicationCondition struct {
	// Type is the kind of condition.
	Type ApplicationConditionType `json:"type"`

	// Message describes the condition.
	Message string `json:"message"`

	// LastTransitionTime is when the condition was last observed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// ApplicationSummary lists facts gathered from the managed objects.
type ApplicationSummary struct {
	// ExternalURLs are URLs the managed objects expose, such as ingress
	// hosts, plus the values of link annotations on the Application.
	// +optional
	ExternalURLs []string `json:"externalURLs,omitempty"`

	// Images are the container images the managed objects use.
	// +optional
	Images []string `json:"images,omitempty"`
}

// SourceHydratorStatus reports on the hydration of an Application.
type SourceHydratorStatus struct {
	// LastSuccessfulOperation describes the last hydration that succeeded.
	// +optional
	LastSuccessfulOperation *SuccessfulHydrateOperation `json:"lastSuccessfulOperation,omitempty"`

	// CurrentOperation describes the running or last hydration.
	// +optional
	CurrentOperation *HydrateOperation `json:"currentOperation,omitempty"`
}

// HydrateOperation describes one hydration.
type HydrateOperation struct {
	// StartedAt is when the hydration started.
	// +optional
	StartedAt metav1.Time `json:"startedAt,omitempty"`

	// FinishedAt is when the hydration finished.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// Phase is the state of the hydration.
	Phase HydrateOperationPhase `json:"phase"`

	// Message explains the phase.
	Message string `json:"message"`

	// DrySHA is the commit of the dry source that was rendered.
	// +optional
	DrySHA string `json:"drySHA,omitempty"`

	// HydratedSHA is the commit holding the rendered manifests.
	// +optional
	HydratedSHA string `json:"hydratedSHA,omitempty"`

	// SourceHydrator is the configuration the hydration used.
	// +optional
	SourceHydrator SourceHydrator `json:"sourceHydrator,omitempty"`
}

// SuccessfulHydrateOperation describes the last successful hydration.
type SuccessfulHydrateOperation struct {
	// DrySHA is the commit of the dry source that was rendered.
	// +optional
	DrySHA string `json:"drySHA,omitempty"`

	// HydratedSHA is the commit holding the rendered manifests.
	// +optional
	HydratedSHA string `json:"hydratedSHA,omitempty"`

	// SourceHydrator is the configuration the hydration used.
	// +optional
	SourceHydrator SourceHydrator `json:"sourceHydrator,omitempty"`
}

// HydrateOperationPhase is the state of a hydration.
// +kubebuilder:validation:Enum=Hydrating;Failed;Hydrated
type HydrateOperationPhase string

// Hydration phases.
const (
	// HydrateOperationPhaseHydrating means the hydration is running.
	HydrateOperationPhaseHydrating HydrateOperationPhase = "Hydrating"
	// HydrateOperationPhaseFailed means the hydration failed.
	HydrateOperationPhaseFailed HydrateOperationPhase = "Failed"
	// HydrateOperationPhaseHydrated means the hydration succeeded.
	HydrateOperationPhaseHydrated HydrateOperationPhase = "Hydrated"
)

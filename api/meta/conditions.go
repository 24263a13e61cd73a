package meta

// Annotations that users and the flux CLI set on objects.
const (
	// ReconcileRequestAnnotation asks for an immediate reconcile when its
	// value changes.
	ReconcileRequestAnnotation = "reconcile.fluxcd.io/requestedAt"
	// ForceRequestAnnotation asks for a forced reconcile when its value
	// changes.
	ForceRequestAnnotation = "reconcile.fluxcd.io/forceAt"
	// ReconcileAnnotation set to "disabled" on a managed object stops the
	// engine from changing it.
	ReconcileAnnotation = "kustomize.toolkit.fluxcd.io/reconcile"
)

// Condition types shared by every Flux-dialect kind.
const (
	// ReadyCondition tells whether the last reconcile succeeded.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while work is in progress.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when retrying cannot help without a change.
	StalledCondition = "Stalled"
	// HealthyCondition tells whether the applied objects are healthy.
	HealthyCondition = "Healthy"
)

// Condition reasons shared by every Flux-dialect kind.
const (
	// SucceededReason: the reconcile succeeded.
	SucceededReason = "Succeeded"
	// FailedReason: the reconcile failed.
	FailedReason = "Failed"
	// ProgressingReason: work is in progress.
	ProgressingReason = "Progressing"
	// ProgressingWithRetryReason: work failed and is being retried.
	ProgressingWithRetryReason = "ProgressingWithRetry"
	// SuspendedReason: reconciliation is suspended.
	SuspendedReason = "Suspended"
	// DependencyNotReadyReason: a dependency is not ready yet.
	DependencyNotReadyReason = "DependencyNotReady"
	// ReconciliationSucceededReason: the v1beta1 name for success.
	ReconciliationSucceededReason = "ReconciliationSucceeded"
	// ReconciliationFailedReason: the v1beta1 name for failure.
	ReconciliationFailedReason = "ReconciliationFailed"
	// InvalidPathReason: a path in the spec does not exist.
	InvalidPathReason = "InvalidPath"
	// ArtifactFailedReason: the source artifact could not be fetched.
	ArtifactFailedReason = "ArtifactFailed"
	// BuildFailedReason: rendering the manifests failed.
	BuildFailedReason = "BuildFailed"
	// HealthCheckFailedReason: applied objects did not become healthy.
	HealthCheckFailedReason = "HealthCheckFailed"
	// PruneFailedReason: garbage collection failed.
	PruneFailedReason = "PruneFailed"
	// InvalidSTSConfigurationReason: the cloud credentials config is invalid.
	InvalidSTSConfigurationReason = "InvalidSTSConfiguration"
)

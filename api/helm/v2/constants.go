package v2

import "github.com/tether-gitops/tether/api/meta"

// Names used by the HelmRelease engine.
const (
	// HelmReleaseKind is the kind name of HelmRelease objects.
	HelmReleaseKind = "HelmRelease"

	// HelmReleaseFinalizer is the finalizer the engine puts on a HelmRelease
	// so that it can uninstall the release before the object goes away.
	HelmReleaseFinalizer = "finalizers.fluxcd.io"
)

// Annotations users set on a HelmRelease, and labels and annotations the
// engine reads from or writes to released objects.
const (
	// ResetRequestAnnotation resets the failure counters, so that exhausted
	// retries start again, when its value equals that of
	// meta.ReconcileRequestAnnotation and has not been handled yet.
	ResetRequestAnnotation = "reconcile.fluxcd.io/resetAt"

	// ForceRequestAnnotation forces a one-off Helm upgrade, even without
	// changes, when its value equals that of meta.ReconcileRequestAnnotation
	// and has not been handled yet.
	ForceRequestAnnotation = meta.ForceRequestAnnotation

	// DriftDetectionMetadataKey, as a label or annotation on a released
	// object set to DriftDetectionDisabledValue, excludes that object from
	// drift detection.
	DriftDetectionMetadataKey = "helm.toolkit.fluxcd.io/driftDetection"

	// DriftDetectionDisabledValue is the value of DriftDetectionMetadataKey
	// that disables drift detection for an object.
	DriftDetectionDisabledValue = "disabled"

	// NameLabel is set on every released object to the name of the
	// HelmRelease that owns it.
	NameLabel = "helm.toolkit.fluxcd.io/name"

	// NamespaceLabel is set on every released object to the namespace of the
	// HelmRelease that owns it.
	NamespaceLabel = "helm.toolkit.fluxcd.io/namespace"
)

// Condition types a HelmRelease reports besides meta.ReadyCondition,
// meta.ReconcilingCondition and meta.StalledCondition.
const (
	// ReleasedCondition is the outcome of the last install or upgrade of
	// the current desired state.
	ReleasedCondition = "Released"

	// TestSuccessCondition is the outcome of the last Helm test run of the
	// current desired state.
	TestSuccessCondition = "TestSuccess"

	// RemediatedCondition is the outcome of the last rollback or uninstall
	// done because a release failed.
	RemediatedCondition = "Remediated"

	// DriftedCondition is True when the released objects were found to
	// differ from the release manifest.
	DriftedCondition = "Drifted"
)

// Condition reasons a HelmRelease reports.
const (
	// InstallSucceededReason: the Helm install succeeded.
	InstallSucceededReason = "InstallSucceeded"
	// InstallFailedReason: the Helm install failed.
	InstallFailedReason = "InstallFailed"
	// UpgradeSucceededReason: the Helm upgrade succeeded.
	UpgradeSucceededReason = "UpgradeSucceeded"
	// UpgradeFailedReason: the Helm upgrade failed.
	UpgradeFailedReason = "UpgradeFailed"
	// TestSucceededReason: the Helm tests passed.
	TestSucceededReason = "TestSucceeded"
	// TestFailedReason: a Helm test failed.
	TestFailedReason = "TestFailed"
	// RollbackSucceededReason: the Helm rollback succeeded.
	RollbackSucceededReason = "RollbackSucceeded"
	// RollbackFailedReason: the Helm rollback failed.
	RollbackFailedReason = "RollbackFailed"
	// UninstallSucceededReason: the Helm uninstall succeeded.
	UninstallSucceededReason = "UninstallSucceeded"
	// UninstallFailedReason: the Helm uninstall failed.
	UninstallFailedReason = "UninstallFailed"
	// DriftDetectedReason: released objects differ from the manifest.
	DriftDetectedReason = "DriftDetected"
	// NoDriftDetectedReason: released objects match the manifest.
	NoDriftDetectedReason = "NoDriftDetected"
	// InitFailedReason: the Helm configuration could not be set up (v2beta1).
	InitFailedReason = "InitFailed"
	// GetLastReleaseFailedReason: the last release could not be read from
	// Helm storage (v2beta1).
	GetLastReleaseFailedReason = "GetLastReleaseFailed"
	// InventoryBuildFailedReason: the list of released objects could not be
	// built.
	InventoryBuildFailedReason = "InventoryBuildFailed"
	// NamespaceCheckSkippedReason: whether objects are namespaced could not
	// be told, so that check was skipped.
	NamespaceCheckSkippedReason = "NamespaceCheckSkipped"

	// ArtifactFailedReason: the chart artifact could not be fetched.
	ArtifactFailedReason = meta.ArtifactFailedReason
	// DependencyNotReadyReason: a HelmRelease in spec.dependsOn is not ready.
	DependencyNotReadyReason = meta.DependencyNotReadyReason
	// ReconciliationSucceededReason: the v2beta1 reason for success.
	ReconciliationSucceededReason = meta.ReconciliationSucceededReason
	// ReconciliationFailedReason: the v2beta1 reason for failure.
	ReconciliationFailedReason = meta.ReconciliationFailedReason
)

package v2

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// ReleaseAction names a Helm action the engine performed.
type ReleaseAction string

const (
	// ReleaseActionInstall is a Helm install.
	ReleaseActionInstall ReleaseAction = "install"
	// ReleaseActionUpgrade is a Helm upgrade.
	ReleaseActionUpgrade ReleaseAction = "upgrade"
	// ReleaseActionRollback is a Helm rollback.
	ReleaseActionRollback ReleaseAction = "rollback"
	// ReleaseActionUninstall is a Helm uninstall.
	ReleaseActionUninstall ReleaseAction = "uninstall"
	// ReleaseActionUninstallRemediation is a Helm uninstall done to
	// remediate a failed install or upgrade.
	ReleaseActionUninstallRemediation ReleaseAction = "uninstall-remediation"
)

// HelmReleaseStatus is what the engine last observed and did.
//
// It is the union of the v2, v2beta2 and v2beta1 status fields.
type HelmReleaseStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ObservedPostRenderersDigest is the digest of spec.postRenderers at the
	// last successful reconciliation.
	// +optional
	ObservedPostRenderersDigest string `json:"observedPostRenderersDigest,omitempty"`

	// ObservedCommonMetadataDigest is the digest of spec.commonMetadata at
	// the last successful reconciliation.
	// +optional
	ObservedCommonMetadataDigest string `json:"observedCommonMetadataDigest,omitempty"`

	// LastAttemptedGeneration is the metadata.generation of the last
	// attempt.
	// +optional
	LastAttemptedGeneration int64 `json:"lastAttemptedGeneration,omitempty"`

	// Conditions describe the current state of the HelmRelease.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// HelmChart names the source object the engine generated for the chart:
	// "<namespace>/<name>" for a HelmChart, "<kind>/<namespace>/<name>" for
	// other kinds.
	// +optional
	HelmChart string `json:"helmChart,omitempty"`

	// NOTE: v2beta1 put no validation on storageNamespace (v2 limits it to
	// 1 to 63 characters) nor on lastAttemptedReleaseAction (v2 allows only
	// install and upgrade); the looser v2beta1 schema is kept for both.

	// StorageNamespace is the namespace holding the Helm storage of the
	// current release.
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// History lists the Helm releases made for this HelmRelease, newest
	// first, back to the last successful one.
	// +optional
	History Snapshots `json:"history,omitempty"`

	// Inventory lists the objects of the current release.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	// LastAttemptedReleaseAction is the last install or upgrade performed; it
	// selects the retry and remediation settings in force.
	// +optional
	LastAttemptedReleaseAction ReleaseAction `json:"lastAttemptedReleaseAction,omitempty"`

	// LastAttemptedReleaseActionDuration is how long that action took.
	// +kubebuilder:validation:Type=string
	// +optional
	LastAttemptedReleaseActionDuration *metav1.Duration `json:"lastAttemptedReleaseActionDuration,omitempty"`

	// Failures counts failed reconciliations of the current desired state.
	// +optional
	Failures int64 `json:"failures,omitempty"`

	// InstallFailures counts failed installs of the current desired state.
	// +optional
	InstallFailures int64 `json:"installFailures,omitempty"`

	// UpgradeFailures counts failed upgrades of the current desired state.
	// +optional
	UpgradeFailures int64 `json:"upgradeFailures,omitempty"`

	// LastAppliedRevision is the source revision last released
	// successfully, as v2beta1 and v2beta2 reported it. Deprecated: see
	// History.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastAttemptedRevision is the chart revision of the last attempt; for
	// OCI sources the chart version carries the first 12 digest characters
	// as build metadata.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// LastAttemptedRevisionDigest is the OCI artifact digest of the last
	// attempt.
	// +optional
	LastAttemptedRevisionDigest string `json:"lastAttemptedRevisionDigest,omitempty"`

	// LastAttemptedValuesChecksum is the SHA-1 of the values of the last
	// attempt. Deprecated: see LastAttemptedConfigDigest.
	// +optional
	LastAttemptedValuesChecksum string `json:"lastAttemptedValuesChecksum,omitempty"`

	// LastReleaseRevision is the Helm revision of the last successful
	// release. Deprecated: see History.
	// +optional
	LastReleaseRevision int `json:"lastReleaseRevision,omitempty"`

	// LastAttemptedConfigDigest is the digest of the values of the last
	// attempt.
	// +optional
	LastAttemptedConfigDigest string `json:"lastAttemptedConfigDigest,omitempty"`

	// LastHandledResetAt holds the value of the last handled reset request
	// annotation.
	// +optional
	LastHandledResetAt string `json:"lastHandledResetAt,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
	meta.ForceRequestStatus     `json:",inline"`
}

// ClearFailures resets the failure counters.
func (in *HelmReleaseStatus) ClearFailures() {
	in.Failures = 0
	in.InstallFailures = 0
	in.UpgradeFailures = 0
}

// ResourceInventory lists the objects of a Helm release.
type ResourceInventory struct {
	// Entries holds one reference per object.
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef identifies one object of a Helm release.
type ResourceRef struct {
	// ID encodes the object's identity as
	// "<namespace>_<name>_<group>_<kind>".
	ID string `json:"id"`

	// Version is the API version of the object.
	Version string `json:"v"`
}

// Snapshots is the release history of a HelmRelease.
type Snapshots []*Snapshot

// SortByVersion orders the snapshots by Helm revision, newest first.
func (in Snapshots) SortByVersion() {
	sort.SliceStable(in, func(i, j int) bool { return in[i].Version > in[j].Version })
}

// Latest returns the snapshot with the highest Helm revision, or nil.
func (in Snapshots) Latest() *Snapshot {
	var latest *Snapshot
	for _, s := range in {
		if s != nil && (latest == nil || s.Version > latest.Version) {
			latest = s
		}
	}
	return latest
}

// Snapshot records one Helm release as the engine saw it in Helm storage.
type Snapshot struct {
	// APIVersion tells how Digest was computed, so that a change of method
	// can be detected.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Digest of the release object in storage, as "<algorithm>:<hex>".
	// +required
	Digest string `json:"digest"`

	// Name of the release.
	// +required
	Name string `json:"name"`

	// Namespace the release is deployed to.
	// +required
	Namespace string `json:"namespace"`

	// Version is the Helm revision of the release.
	// +required
	Version int `json:"version"`

	// Status of the release, such as deployed or superseded.
	// +required
	Status string `json:"status"`

	// Action that created this release.
	// +optional
	Action ReleaseAction `json:"action,omitempty"`

	// ChartName is the name of the released chart.
	// +required
	ChartName string `json:"chartName"`

	// ChartVersion is the version of the released chart.
	// +required
	ChartVersion string `json:"chartVersion"`

	// AppVersion is the app version of the released chart.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`

	// ConfigDigest is the digest of the release's values, as
	// "<algorithm>:<hex>".
	// +required
	ConfigDigest string `json:"configDigest"`

	// FirstDeployed is when the release was first deployed.
	// +required
	FirstDeployed metav1.Time `json:"firstDeployed"`

	// LastDeployed is when the release was last deployed.
	// +required
	LastDeployed metav1.Time `json:"lastDeployed"`

	// Deleted is when the release was deleted.
	// +optional
	Deleted metav1.Time `json:"deleted,omitempty"`

	// TestHooks maps the release's test hooks to what the engine saw of
	// their last run.
	// +optional
	TestHooks *map[string]*TestHookStatus `json:"testHooks,omitempty"`

	// OCIDigest is the digest of the OCI artifact the chart came from.
	// +optional
	OCIDigest string `json:"ociDigest,omitempty"`
}

// TestHookStatus is what the engine saw of one run of a test hook.
type TestHookStatus struct {
	// LastStarted is when the hook last started.
	// +optional
	LastStarted metav1.Time `json:"lastStarted,omitempty"`

	// LastCompleted is when the hook last completed.
	// +optional
	LastCompleted metav1.Time `json:"lastCompleted,omitempty"`

	// Phase the hook was in.
	// +optional
	Phase string `json:"phase,omitempty"`
}

package v2

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CRDsPolicy decides what a Helm install or upgrade does with the CRDs in a
// chart's crds/ directory.
type CRDsPolicy string

const (
	// Skip neither creates nor updates CRDs.
	Skip CRDsPolicy = "Skip"
	// Create creates missing CRDs and leaves existing ones unchanged.
	Create CRDsPolicy = "Create"
	// CreateReplace creates missing CRDs and replaces existing ones.
	CreateReplace CRDsPolicy = "CreateReplace"
)

// ServerSideApplyMode decides whether upgrades and rollbacks use server-side
// apply.
type ServerSideApplyMode string

const (
	// ServerSideApplyEnabled always uses server-side apply.
	ServerSideApplyEnabled ServerSideApplyMode = "enabled"
	// ServerSideApplyDisabled never uses server-side apply.
	ServerSideApplyDisabled ServerSideApplyMode = "disabled"
	// ServerSideApplyAuto does what the previous release did. It is the
	// default.
	ServerSideApplyAuto ServerSideApplyMode = "auto"
)

// ChartNameChangeStrategy decides what happens when the chart of an existing
// release is replaced by a chart with another name.
type ChartNameChangeStrategy string

const (
	// ChartNameChangeStrategyReinstall uninstalls the release and installs it
	// again. It is the default.
	ChartNameChangeStrategyReinstall ChartNameChangeStrategy = "Reinstall"
	// ChartNameChangeStrategyInPlaceUpdate upgrades the release in place.
	ChartNameChangeStrategyInPlaceUpdate ChartNameChangeStrategy = "InPlaceUpdate"
)

// ActionStrategyName names what the engine does after a failed install or
// upgrade.
type ActionStrategyName string

const (
	// ActionStrategyRemediateOnFailure remediates the failure as configured
	// in the action's remediation settings.
	ActionStrategyRemediateOnFailure ActionStrategyName = "RemediateOnFailure"
	// ActionStrategyRetryOnFailure retries the action after RetryInterval
	// without remediating.
	ActionStrategyRetryOnFailure ActionStrategyName = "RetryOnFailure"
)

// RemediationStrategy names how a failed upgrade is undone.
type RemediationStrategy string

const (
	// RollbackRemediationStrategy rolls back to the previous release. It is
	// the default for upgrades.
	RollbackRemediationStrategy RemediationStrategy = "rollback"
	// UninstallRemediationStrategy uninstalls the release. Failed installs
	// are always remediated this way.
	UninstallRemediationStrategy RemediationStrategy = "uninstall"
)

// defaultRetryInterval is the wait between RetryOnFailure attempts.
const defaultRetryInterval = 5 * time.Minute

// Install configures Helm install actions.
type Install struct {
	// Timeout bounds each Kubernetes operation of the install, such as hook
	// Jobs; defaults to spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Strategy decides what happens after a failed install; defaults to
	// RemediateOnFailure.
	// +optional
	Strategy *InstallStrategy `json:"strategy,omitempty"`

	// Remediation configures retries and remediation of failed installs.
	// +optional
	Remediation *InstallRemediation `json:"remediation,omitempty"`

	// DisableTakeOwnership stops the install from adopting existing objects.
	// +optional
	DisableTakeOwnership bool `json:"disableTakeOwnership,omitempty"`

	// DisableWait skips waiting for the installed objects to become ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableWaitForJobs skips waiting for installed Jobs to complete.
	// +optional
	DisableWaitForJobs bool `json:"disableWaitForJobs,omitempty"`

	// DisableHooks skips the chart's install hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// DisableOpenAPIValidation skips validating the rendered manifests
	// against the cluster's OpenAPI schema.
	// +optional
	DisableOpenAPIValidation bool `json:"disableOpenAPIValidation,omitempty"`

	// DisableSchemaValidation skips validating the values against the
	// chart's JSON schema.
	// +optional
	DisableSchemaValidation bool `json:"disableSchemaValidation,omitempty"`

	// Replace reuses the release name if it belongs to a deleted release
	// still kept in the history.
	// +optional
	Replace bool `json:"replace,omitempty"`

	// SkipCRDs skips installing the chart's CRDs. Deprecated: set CRDs to
	// Skip instead.
	// +optional
	SkipCRDs bool `json:"skipCRDs,omitempty"`

	// CRDs is the policy for the chart's CRDs on install; defaults to Create.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// CreateNamespace creates spec.targetNamespace if it does not exist. The
	// namespace is not deleted on uninstall.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`

	// ServerSideApply makes the install use server-side apply; defaults to
	// true.
	// +optional
	ServerSideApply *bool `json:"serverSideApply,omitempty"`
}

// InstallStrategy names the strategy for failed installs.
//
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name != 'RemediateOnFailure'", message=".retryInterval is not allowed when .name is 'RemediateOnFailure'"
type InstallStrategy struct {
	// Name of the strategy.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name string `json:"name"`

	// RetryInterval is the wait between attempts of RetryOnFailure;
	// defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// GetRetryInterval returns RetryInterval, or 5 minutes when unset.
func (in InstallStrategy) GetRetryInterval() time.Duration {
	if in.RetryInterval == nil {
		return defaultRetryInterval
	}
	return in.RetryInterval.Duration
}

// InstallRemediation configures what happens after a failed install.
type InstallRemediation struct {
	// Retries is how many times a failed install is retried, with an
	// uninstall in between; 0 by default, negative for no limit.
	// +optional
	Retries int `json:"retries,omitempty"`

	// IgnoreTestFailures skips remediation when tests run after an install
	// fail; defaults to spec.test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// RemediateLastFailure remediates the last failure once no retries are
	// left; defaults to false.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`
}

// Upgrade configures Helm upgrade actions.
type Upgrade struct {
	// Timeout bounds each Kubernetes operation of the upgrade, such as hook
	// Jobs; defaults to spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Strategy decides what happens after a failed upgrade; defaults to
	// RemediateOnFailure.
	// +optional
	Strategy *UpgradeStrategy `json:"strategy,omitempty"`

	// Remediation configures retries and remediation of failed upgrades.
	// +optional
	Remediation *UpgradeRemediation `json:"remediation,omitempty"`

	// DisableTakeOwnership stops the upgrade from adopting existing objects.
	// +optional
	DisableTakeOwnership bool `json:"disableTakeOwnership,omitempty"`

	// DisableWait skips waiting for the upgraded objects to become ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableWaitForJobs skips waiting for Jobs to complete.
	// +optional
	DisableWaitForJobs bool `json:"disableWaitForJobs,omitempty"`

	// DisableHooks skips the chart's upgrade hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// DisableOpenAPIValidation skips validating the rendered manifests
	// against the cluster's OpenAPI schema.
	// +optional
	DisableOpenAPIValidation bool `json:"disableOpenAPIValidation,omitempty"`

	// DisableSchemaValidation skips validating the values against the
	// chart's JSON schema.
	// +optional
	DisableSchemaValidation bool `json:"disableSchemaValidation,omitempty"`

	// Force replaces objects instead of patching them when client-side
	// apply is used; server-side apply ignores it.
	// +optional
	Force bool `json:"force,omitempty"`

	// PreserveValues merges spec values over the previous release's values
	// instead of replacing them, which makes the release non-declarative.
	// +optional
	PreserveValues bool `json:"preserveValues,omitempty"`

	// CleanupOnFail deletes objects created by a failed upgrade.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// CRDs is the policy for the chart's CRDs on upgrade; defaults to Skip.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// ServerSideApply decides whether the upgrade uses server-side apply;
	// defaults to auto.
	// +kubebuilder:validation:Enum=enabled;disabled;auto
	// +optional
	ServerSideApply ServerSideApplyMode `json:"serverSideApply,omitempty"`

	// ChartNameChangeStrategy decides what happens when the chart name
	// changes; defaults to Reinstall.
	// +kubebuilder:validation:Enum=InPlaceUpdate;Reinstall
	// +optional
	ChartNameChangeStrategy ChartNameChangeStrategy `json:"chartNameChangeStrategy,omitempty"`
}

// UpgradeStrategy names the strategy for failed upgrades.
//
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name == 'RetryOnFailure'", message=".retryInterval is only allowed when .name is 'RetryOnFailure'"
type UpgradeStrategy struct {
	// Name of the strategy.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name string `json:"name"`

	// RetryInterval is the wait between attempts of RetryOnFailure;
	// defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// GetRetryInterval returns RetryInterval, or 5 minutes when unset.
func (in UpgradeStrategy) GetRetryInterval() time.Duration {
	if in.RetryInterval == nil {
		return defaultRetryInterval
	}
	return in.RetryInterval.Duration
}

// UpgradeRemediation configures what happens after a failed upgrade.
type UpgradeRemediation struct {
	// Retries is how many times a failed upgrade is retried, with a
	// remediation in between; 0 by default, negative for no limit.
	// +optional
	Retries int `json:"retries,omitempty"`

	// IgnoreTestFailures skips remediation when tests run after an upgrade
	// fail; defaults to spec.test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// RemediateLastFailure remediates the last failure once no retries are
	// left; defaults to true when Retries is above 0, false otherwise.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`

	// Strategy is how a failed upgrade is remediated; defaults to rollback.
	// +kubebuilder:validation:Enum=rollback;uninstall
	// +optional
	Strategy *RemediationStrategy `json:"strategy,omitempty"`
}

// GetStrategy returns Strategy, or rollback when unset.
func (in UpgradeRemediation) GetStrategy() RemediationStrategy {
	if in.Strategy == nil {
		return RollbackRemediationStrategy
	}
	return *in.Strategy
}

// MustRemediateLastFailure tells whether to remediate once retries run out.
func (in UpgradeRemediation) MustRemediateLastFailure() bool {
	if in.RemediateLastFailure == nil {
		return in.Retries > 0
	}
	return *in.RemediateLastFailure
}

// MustRemediateLastFailure tells whether to remediate once retries run out.
func (in InstallRemediation) MustRemediateLastFailure() bool {
	return in.RemediateLastFailure != nil && *in.RemediateLastFailure
}

// Test configures Helm test actions.
type Test struct {
	// Enable runs the chart's tests after each install or upgrade.
	// +optional
	Enable bool `json:"enable,omitempty"`

	// Timeout bounds each Kubernetes operation of the tests; defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// IgnoreFailures skips remediation when tests fail; the install and
	// upgrade remediation settings can override it.
	// +optional
	IgnoreFailures bool `json:"ignoreFailures,omitempty"`

	// Filters selects the tests to run or to leave out.
	// +optional
	Filters []Filter `json:"filters,omitempty"`
}

// Filter includes or excludes one Helm test by name.
type Filter struct {
	// Name of the test.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Exclude leaves the named test out instead of selecting it.
	// +optional
	Exclude bool `json:"exclude,omitempty"`
}

// Rollback configures Helm rollback actions.
type Rollback struct {
	// Timeout bounds each Kubernetes operation of the rollback; defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// DisableWait skips waiting for the objects to become ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableWaitForJobs skips waiting for Jobs to complete.
	// +optional
	DisableWaitForJobs bool `json:"disableWaitForJobs,omitempty"`

	// DisableHooks skips the chart's rollback hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// Recreate restarted the pods of workloads; Helm 4 dropped it, so it is
	// accepted but has no effect.
	// +optional
	Recreate bool `json:"recreate,omitempty"`

	// Force replaces objects instead of patching them when client-side
	// apply is used.
	// +optional
	Force bool `json:"force,omitempty"`

	// CleanupOnFail deletes objects created by a failed rollback.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// ServerSideApply decides whether the rollback uses server-side apply;
	// defaults to auto.
	// +kubebuilder:validation:Enum=enabled;disabled;auto
	// +optional
	ServerSideApply ServerSideApplyMode `json:"serverSideApply,omitempty"`
}

// Uninstall configures Helm uninstall actions.
type Uninstall struct {
	// Timeout bounds each Kubernetes operation of the uninstall; defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// DisableHooks skips the chart's delete hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// KeepHistory deletes the objects but keeps the release history, with
	// the release marked as uninstalled.
	// +optional
	KeepHistory bool `json:"keepHistory,omitempty"`

	// DisableWait skips waiting for the objects to be deleted.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DeletionPropagation is the propagation policy used when deleting.
	// +kubebuilder:default=background
	// +kubebuilder:validation:Enum=background;foreground;orphan
	// +optional
	DeletionPropagation *string `json:"deletionPropagation,omitempty"`
}

// GetDeletionPropagation returns DeletionPropagation, or "background" when
// unset.
func (in Uninstall) GetDeletionPropagation() string {
	if in.DeletionPropagation == nil {
		return "background"
	}
	return *in.DeletionPropagation
}

// timeoutOr returns *t, or def when t is nil.
func timeoutOr(t *metav1.Duration, def metav1.Duration) metav1.Duration {
	if t == nil {
		return def
	}
	return *t
}

// GetTimeout returns the install timeout, or def when unset.
func (in Install) GetTimeout(def metav1.Duration) metav1.Duration {
	return timeoutOr(in.Timeout, def)
}

// GetTimeout returns the upgrade timeout, or def when unset.
func (in Upgrade) GetTimeout(def metav1.Duration) metav1.Duration {
	return timeoutOr(in.Timeout, def)
}

// GetTimeout returns the test timeout, or def when unset.
func (in Test) GetTimeout(def metav1.Duration) metav1.Duration {
	return timeoutOr(in.Timeout, def)
}

// GetTimeout returns the rollback timeout, or def when unset.
func (in Rollback) GetTimeout(def metav1.Duration) metav1.Duration {
	return timeoutOr(in.Timeout, def)
}

// GetTimeout returns the uninstall timeout, or def when unset.
func (in Uninstall) GetTimeout(def metav1.Duration) metav1.Duration {
	return timeoutOr(in.Timeout, def)
}

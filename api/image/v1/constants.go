package v1

// Kind names of this API group.
const (
	// ImageRepositoryKind is the kind name of ImageRepository.
	ImageRepositoryKind = "ImageRepository"
	// ImagePolicyKind is the kind name of ImagePolicy.
	ImagePolicyKind = "ImagePolicy"
	// ImageUpdateAutomationKind is the kind name of ImageUpdateAutomation.
	ImageUpdateAutomationKind = "ImageUpdateAutomation"
)

// ImageFinalizer is the finalizer that the image controllers put on every
// object of this group so that they can clean up (for example the tag
// database entry of an ImageRepository) before the object goes away.
const ImageFinalizer = "finalizers.fluxcd.io"

// Condition reasons reported by the ImageRepository and ImagePolicy
// reconcilers, in addition to the shared ones of package meta (including
// meta.DependencyNotReadyReason, used when an ImagePolicy's repository has not
// been scanned yet).
const (
	// ImageURLInvalidReason: spec.image cannot be parsed as an image
	// repository reference.
	ImageURLInvalidReason = "ImageURLInvalid"
	// AuthenticationFailedReason: the registry credentials are missing
	// fields or were refused by the registry.
	AuthenticationFailedReason = "AuthenticationFailed"
	// ReadOperationFailedReason: reading from the registry or from the tag
	// database failed.
	ReadOperationFailedReason = "ReadOperationFailed"
	// IntervalNotConfiguredReason: an ImagePolicy asks for digest reflection
	// "Always" but has no usable interval.
	IntervalNotConfiguredReason = "IntervalNotConfigured"
)

// Condition reasons reported by the ImageUpdateAutomation reconciler.
const (
	// InvalidUpdateStrategyReason: spec.update names a strategy that cannot
	// be used.
	InvalidUpdateStrategyReason = "InvalidUpdateStrategy"
	// InvalidSourceConfigReason: the referenced source, or the git settings
	// that go with it, cannot be used.
	InvalidSourceConfigReason = "InvalidSourceConfiguration"
	// SourceManagerFailedReason: preparing the working copy of the source
	// failed.
	SourceManagerFailedReason = "SourceManagerFailed"
	// GitOperationFailedReason: a clone, commit or push failed.
	GitOperationFailedReason = "GitOperationFailed"
	// UpdateFailedReason: rewriting the files in the working copy failed.
	UpdateFailedReason = "UpdateFailed"
	// InvalidPolicySelectorReason: spec.policySelector is not a valid label
	// selector.
	InvalidPolicySelectorReason = "InvalidPolicySelector"
	// RemovedTemplateFieldReason: the commit message template uses a field
	// that no longer exists (such as .Updated).
	RemovedTemplateFieldReason = "RemovedTemplateField"
	// GitNotAvailableReason: the v1beta1 name for an automation run that
	// could not proceed because the git repository was missing or could
	// not be cloned.
	GitNotAvailableReason = "GitRepositoryNotAvailable"
	// NoStrategyReason: the v1beta1 name for an automation run that could
	// not proceed because no update strategy was given.
	NoStrategyReason = "MissingUpdateStrategy"
)

// Action names one step of an image controller's reconcile loop; it is
// recorded on the events the controllers emit.
type Action string

// String returns the action name.
func (a Action) String() string { return string(a) }

// Actions of the image reconcilers.
const (
	// ActionScan lists the tags of an ImageRepository's registry repository.
	ActionScan Action = "Scan"
	// ActionSelectImage evaluates an ImagePolicy over the scanned tags.
	ActionSelectImage Action = "SelectImage"
	// ActionReconcile reports the overall outcome of an automation run.
	ActionReconcile Action = "Reconcile"
	// ActionListPolicies collects the ImagePolicies an automation applies.
	ActionListPolicies Action = "ListPolicies"
	// ActionConfigureSource resolves the automation's source and its
	// credentials.
	ActionConfigureSource Action = "ConfigureSource"
	// ActionApplyPolicies rewrites the marked fields in the working copy.
	ActionApplyPolicies Action = "ApplyPolicies"
	// ActionCommitAndPush commits the changes and pushes them.
	ActionCommitAndPush Action = "CommitAndPush"
)

package v1

// Kind names of this API group.
const (
	// ProviderKind is the kind name of Provider.
	ProviderKind = "Provider"
	// AlertKind is the kind name of Alert.
	AlertKind = "Alert"
	// ReceiverKind is the kind name of Receiver.
	ReceiverKind = "Receiver"
)

// NotificationFinalizer is the finalizer the notification controller puts on
// the objects it reconciles.
const NotificationFinalizer = "finalizers.fluxcd.io"

// Condition reasons reported by the notification controller, in addition to
// the shared ones of package meta.
const (
	// InitializedReason: the object was set up and is ready for use.
	InitializedReason = "Initialized"
	// ValidationFailedReason: part of the spec is not valid.
	ValidationFailedReason = "ValidationFailed"
	// TokenNotFoundReason: a Receiver's token Secret or key is missing.
	TokenNotFoundReason = "TokenNotFound"
	// MigrationReason: the object is being migrated to a static (status-
	// less) form.
	MigrationReason = "Migration"
	// InvalidConfigReason: part of the configuration cannot be used, such
	// as a filter regular expression that does not compile.
	InvalidConfigReason = "InvalidConfig"
	// NotificationDispatchFailedReason: sending a notification to a
	// provider failed.
	NotificationDispatchFailedReason = "NotificationDispatchFailed"
	// SourceFetchFailedReason: the object an event is about could not be
	// read to evaluate an event source's label selector.
	SourceFetchFailedReason = "SourceFetchFailed"
	// MetadataAppendFailedReason: event metadata from different origins
	// had conflicting keys.
	MetadataAppendFailedReason = "MetadataAppendFailed"
)

// Severities of Flux events. Alerts filter on info and error; trace events
// describe reconcile steps and are never forwarded.
const (
	// EventSeverityTrace marks a step of a reconcile.
	EventSeverityTrace = "trace"
	// EventSeverityInfo marks an informational event, usually a change.
	EventSeverityInfo = "info"
	// EventSeverityError marks a failure.
	EventSeverityError = "error"
)

// Actions recorded on the events the notification controller itself emits.
const (
	// ActionReconciling: a reconcile is in progress.
	ActionReconciling = "Reconciling"
	// ActionReconciled: a reconcile succeeded.
	ActionReconciled = "Reconciled"
	// ActionFetching: a resource or artifact is being fetched.
	ActionFetching = "Fetching"
	// ActionValidating: the spec is being validated.
	ActionValidating = "Validating"
	// ActionFailed: an operation failed.
	ActionFailed = "Failed"
)

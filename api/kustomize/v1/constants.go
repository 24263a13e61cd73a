package v1

import "github.com/tether-gitops/tether/api/meta"

// Names and limits used by the Kustomization engine.
const (
	// KustomizationKind is the kind name of Kustomization objects.
	KustomizationKind = "Kustomization"

	// KustomizationFinalizer is the finalizer the engine puts on a
	// Kustomization so that it can prune or orphan the applied objects
	// before the Kustomization goes away.
	KustomizationFinalizer = "finalizers.fluxcd.io"

	// MaxConditionMessageLength caps the length of condition messages, which
	// can otherwise grow with the number of failing objects.
	MaxConditionMessageLength = 20000
)

// Annotations and labels read from, or written to, the objects that a
// Kustomization applies. Users set the annotations in their manifests to
// change how an individual object is treated.
const (
	// PruneAnnotation set to DisabledValue keeps an object in the cluster
	// when it disappears from the source or its Kustomization is deleted.
	PruneAnnotation = "kustomize.toolkit.fluxcd.io/prune"

	// SSAAnnotation chooses how server-side apply treats an object that
	// already exists: MergeValue, IfNotPresentValue or IgnoreValue.
	SSAAnnotation = "kustomize.toolkit.fluxcd.io/ssa"

	// ForceAnnotation set to EnabledValue makes the engine delete and
	// recreate the object when an immutable field changes, as spec.force
	// does for all objects.
	ForceAnnotation = "kustomize.toolkit.fluxcd.io/force"

	// SubstituteAnnotation set to DisabledValue excludes an object from
	// post-build variable substitution.
	SubstituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"

	// ReconcileAnnotation set to DisabledValue stops the engine from
	// changing or pruning an object.
	ReconcileAnnotation = meta.ReconcileAnnotation

	// NameLabel is set on every applied object to the name of the
	// Kustomization that owns it.
	NameLabel = "kustomize.toolkit.fluxcd.io/name"

	// NamespaceLabel is set on every applied object to the namespace of the
	// Kustomization that owns it.
	NamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
)

// Values of the annotations above.
const (
	// EnabledValue turns an annotation-controlled behaviour on.
	EnabledValue = "enabled"
	// DisabledValue turns an annotation-controlled behaviour off.
	DisabledValue = "disabled"
	// MergeValue (SSAAnnotation) lets other field managers keep the fields
	// they own; only the fields in the manifest are applied. Manifests
	// written for v1beta2 may spell it in lower case ("merge").
	MergeValue = "Merge"
	// IfNotPresentValue (SSAAnnotation) creates the object if it is missing
	// and otherwise leaves it alone.
	IfNotPresentValue = "IfNotPresent"
	// IgnoreValue (SSAAnnotation) never applies the object.
	IgnoreValue = "Ignore"
)

// Values of spec.deletionPolicy.
const (
	// DeletionPolicyMirrorPrune deletes the applied objects when spec.prune
	// is true and orphans them otherwise. It is the default.
	DeletionPolicyMirrorPrune = "MirrorPrune"
	// DeletionPolicyDelete always deletes the applied objects.
	DeletionPolicyDelete = "Delete"
	// DeletionPolicyWaitForTermination deletes the applied objects and waits
	// until they are gone before releasing the Kustomization.
	DeletionPolicyWaitForTermination = "WaitForTermination"
	// DeletionPolicyOrphan leaves the applied objects in place.
	DeletionPolicyOrphan = "Orphan"
)

// Values of spec.validation, a v1beta1 and v1beta2 field that newer engines
// ignore.
const (
	// ValidationNone skips validation.
	ValidationNone = "none"
	// ValidationClient validates with a client-side dry run.
	ValidationClient = "client"
	// ValidationServer validates with a server-side dry run.
	ValidationServer = "server"
)

// Condition types a Kustomization reports besides meta.ReadyCondition,
// meta.ReconcilingCondition and meta.StalledCondition.
const (
	// HealthyCondition records the result of the last health assessment.
	HealthyCondition = meta.HealthyCondition
)

// Condition reasons a Kustomization reports. Most are the shared Flux
// reasons, repeated here so that the engine can name them from one place.
const (
	// ReconciliationSucceededReason: the manifests were applied.
	ReconciliationSucceededReason = meta.ReconciliationSucceededReason
	// ReconciliationFailedReason: applying the manifests failed.
	ReconciliationFailedReason = meta.ReconciliationFailedReason
	// ProgressingWithRetryReason: a failed attempt will be retried.
	ProgressingWithRetryReason = meta.ProgressingWithRetryReason
	// ArtifactFailedReason: the source artifact could not be fetched.
	ArtifactFailedReason = meta.ArtifactFailedReason
	// BuildFailedReason: kustomize build, decryption or substitution failed.
	BuildFailedReason = meta.BuildFailedReason
	// HealthCheckFailedReason: applied objects did not become healthy in time.
	HealthCheckFailedReason = meta.HealthCheckFailedReason
	// PruneFailedReason: objects removed from the source could not be deleted.
	PruneFailedReason = meta.PruneFailedReason
	// DependencyNotReadyReason: a Kustomization in spec.dependsOn is not ready.
	DependencyNotReadyReason = meta.DependencyNotReadyReason
	// ValidationFailedReason: the v1beta1 reason for manifests that failed a
	// dry-run validation.
	ValidationFailedReason = "ValidationFailed"
)

package v1

import "github.com/tether-gitops/tether/api/meta"

// SourceFinalizer is the finalizer that a source controller puts on every
// object of this group, so that it can delete the object's stored
// artifacts before the object goes away.
const SourceFinalizer = "finalizers.fluxcd.io"

// Condition types that the source kinds report next to the shared Ready,
// Reconciling and Stalled types of package meta. The "abnormal-true" ones
// are present only while the problem they name exists.
const (
	// ArtifactInStorageCondition is True once the object's artifact has been
	// written to the artifact storage.
	ArtifactInStorageCondition = "ArtifactInStorage"

	// ArtifactOutdatedCondition is an abnormal-true condition: the stored
	// artifact no longer matches the spec or the upstream revision.
	ArtifactOutdatedCondition = "ArtifactOutdated"

	// SourceVerifiedCondition reports the result of the signature or
	// integrity check; it is present only when verification is configured.
	SourceVerifiedCondition = "SourceVerified"

	// FetchFailedCondition is an abnormal-true condition: the upstream
	// source could not be fetched, so the artifact may be stale.
	FetchFailedCondition = "FetchFailed"

	// BuildFailedCondition is an abnormal-true condition: building the
	// artifact from fetched content failed (used by HelmChart).
	BuildFailedCondition = "BuildFailed"

	// StorageOperationFailedCondition is an abnormal-true condition: a file
	// system operation on the artifact storage failed.
	StorageOperationFailedCondition = "StorageOperationFailed"

	// IncludeUnavailableCondition is an abnormal-true condition of a
	// GitRepository: one of the repositories in spec.include does not exist
	// or has no artifact yet.
	IncludeUnavailableCondition = "IncludeUnavailable"
)

// Condition reasons common to the source kinds. Reasons are informative
// values for humans and tools, not part of the declarative API.
const (
	// URLInvalidReason: the spec's URL could not be parsed or used.
	URLInvalidReason = "URLInvalid"

	// AuthenticationFailedReason: the referenced credentials are missing
	// required keys or were refused by the remote.
	AuthenticationFailedReason = "AuthenticationFailed"

	// VerificationError: the signature or integrity verification of the
	// fetched source failed.
	VerificationError = "VerificationError"

	// ArtifactVerificationFailedReason: an artifact already in storage no
	// longer matches its recorded digest.
	ArtifactVerificationFailedReason = "ArtifactVerificationFailed"

	// DirCreationFailedReason: a directory in the storage could not be made.
	DirCreationFailedReason = "DirectoryCreationFailed"

	// StatOperationFailedReason: a stat call on a storage path failed.
	StatOperationFailedReason = "StatOperationFailed"

	// ReadOperationFailedReason: reading from storage or a work dir failed.
	ReadOperationFailedReason = "ReadOperationFailed"

	// AcquireLockFailedReason: the storage lock for the object could not be
	// taken.
	AcquireLockFailedReason = "AcquireLockFailed"

	// InvalidPathReason: a path given in the spec is invalid. It is the same
	// value as meta.InvalidPathReason.
	InvalidPathReason = meta.InvalidPathReason

	// ArchiveOperationFailedReason: packing the artifact archive failed.
	ArchiveOperationFailedReason = "ArchiveOperationFailed"

	// SymlinkUpdateFailedReason: the "latest" symlink in storage could not be
	// updated.
	SymlinkUpdateFailedReason = "SymlinkUpdateFailed"

	// ArtifactUpToDateReason: the stored artifact already matches the
	// upstream revision.
	ArtifactUpToDateReason = "ArtifactUpToDate"

	// NewArtifactReason: a new artifact was stored for the object.
	NewArtifactReason = "NewArtifact"

	// NoSourceArtifactReason: the source a HelmChart refers to has no
	// artifact yet.
	NoSourceArtifactReason = "NoSourceArtifact"

	// GarbageCollectionSucceededReason: stale artifacts were removed from
	// storage.
	GarbageCollectionSucceededReason = "GarbageCollectionSucceeded"

	// CacheOperationFailedReason: an operation on an in-memory cache failed.
	CacheOperationFailedReason = "CacheOperationFailed"

	// PatchOperationFailedReason: patching the object in the API failed.
	PatchOperationFailedReason = "PatchOperationFailed"

	// InvalidSTSConfigurationReason: the security token service settings
	// are invalid. It is the same value as meta.InvalidSTSConfigurationReason.
	InvalidSTSConfigurationReason = meta.InvalidSTSConfigurationReason

	// InvalidProviderConfigurationReason: the settings of the
	// authentication provider are invalid.
	InvalidProviderConfigurationReason = "InvalidProviderConfiguration"
)

// Condition reasons that only v1beta1 controllers reported. Tether keeps
// them so that tools matching on the old values still find a name here.
const (
	// LegacyStorageOperationFailedReason is the v1beta1 reason for a failed
	// storage operation, later replaced by the StorageOperationFailed
	// condition type.
	LegacyStorageOperationFailedReason = "StorageOperationFailed"

	// LegacyVerificationFailedReason is the v1beta1 reason for a failed
	// signature check, later replaced by VerificationError.
	LegacyVerificationFailedReason = "VerificationFailed"
)

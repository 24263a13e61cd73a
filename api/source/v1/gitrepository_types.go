package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// GitRepositoryKind is the kind name of GitRepository objects.
const GitRepositoryKind = "GitRepository"

// Values of GitRepositorySpec.Provider.
const (
	// GitProviderGeneric authenticates with the credentials in spec.secretRef.
	// It is what an empty provider means.
	GitProviderGeneric = "generic"
	// GitProviderAzure authenticates to Azure DevOps with a workload or
	// managed identity.
	GitProviderAzure = "azure"
	// GitProviderGitHub authenticates as a GitHub App.
	GitProviderGitHub = "github"
	// GitProviderAWS authenticates to AWS CodeCommit with IAM credentials.
	GitProviderAWS = "aws"
)

// Values of the deprecated GitRepositorySpec.GitImplementation.
const (
	// GoGitImplementation selects the pure-Go git client.
	GoGitImplementation = "go-git"
	// LibGit2Implementation selected the libgit2 client in old Flux
	// versions; Tether treats it like go-git.
	LibGit2Implementation = "libgit2"
)

// GitRepository condition reasons.
const (
	// GitOperationSucceedReason: cloning and checking out the repository
	// succeeded. (The constant name keeps upstream's spelling.)
	GitOperationSucceedReason = "GitOperationSucceeded"

	// GitOperationFailedReason: a git operation such as clone or checkout
	// failed.
	GitOperationFailedReason = "GitOperationFailed"

	// LegacyGitOperationSucceedReason is the value v1beta1 controllers
	// reported for a successful git operation.
	LegacyGitOperationSucceedReason = "GitOperationSucceed"
)

// GitVerificationMode names which git objects of a checkout have their
// signatures verified.
type GitVerificationMode string

const (
	// ModeGitHEAD verifies the commit that HEAD points to after checkout.
	ModeGitHEAD GitVerificationMode = "HEAD"
	// ModeGitHEADLegacy is the lower-case spelling of ModeGitHEAD that
	// v1beta1 and v1beta2 objects use; it means the same.
	ModeGitHEADLegacy GitVerificationMode = "head"
	// ModeGitTag verifies the annotated tag named in spec.ref.
	ModeGitTag GitVerificationMode = "Tag"
	// ModeGitTagAndHEAD verifies both the tag and the commit it points to.
	ModeGitTagAndHEAD GitVerificationMode = "TagAndHEAD"
)

// GitRepositorySpec says which Git repository to fetch, which revision of
// it, and how often.
//
// +kubebuilder:validation:XValidation:rule="!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))",message="serviceAccountName can only be set when provider is 'azure' or 'aws'"
type GitRepositorySpec struct {
	// URL of the repository, over http(s) or ssh.
	// +kubebuilder:validation:Pattern="^(http|https|ssh)://.*$"
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret with the credentials: "username" and
	// "password" or "bearerToken" for HTTPS, "identity" and "known_hosts" for
	// SSH.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Provider selects how to authenticate; empty means generic.
	// +kubebuilder:validation:Enum=generic;aws;azure;github
	// +optional
	Provider string `json:"provider,omitempty"`

	// ServiceAccountName is the ServiceAccount whose identity is used to
	// authenticate; only for the azure and aws providers.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Interval between checks of the repository for new revisions.
	//
	// NOTE: v1beta1 set no pattern here, so the pattern accepts every Go
	// duration rather than only upstream v1's subset (see the package doc).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +required
	Interval metav1.Duration `json:"interval"`

	// Timeout of git operations such as cloning; 60s when not given.
	//
	// NOTE: v1beta1 set no pattern here (upstream v1 refuses hours), so the
	// pattern accepts every Go duration.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Reference selects the revision to check out; the master branch when
	// not given.
	// +optional
	Reference *GitRepositoryRef `json:"ref,omitempty"`

	// Verification turns on signature checks of the checked-out objects.
	// +optional
	Verification *GitRepositoryVerification `json:"verify,omitempty"`

	// ProxySecretRef names a Secret with the proxy settings ("address" and
	// optionally "username" and "password") for reaching the Git server.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Ignore holds exclusion patterns in .gitignore syntax that replace the
	// default ones when packing the artifact.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// GitImplementation chose the git client library in v1beta1 and v1beta2.
	// Deprecated: it has no effect; go-git is always used.
	//
	// NOTE: upstream's betas defaulted this to go-git; the field is absent
	// from upstream v1 (the storage version), so no default is applied.
	// +kubebuilder:validation:Enum=go-git;libgit2
	// +optional
	GitImplementation string `json:"gitImplementation,omitempty"`

	// RecurseSubmodules also clones the repository's submodules.
	// +optional
	RecurseSubmodules bool `json:"recurseSubmodules,omitempty"`

	// Include lists other GitRepository objects whose artifact contents are
	// copied into this one's artifact.
	// +optional
	Include []GitRepositoryInclude `json:"include,omitempty"`

	// SparseCheckout lists directories to check out; when set, only they
	// end up in the artifact.
	// +optional
	SparseCheckout []string `json:"sparseCheckout,omitempty"`

	// AccessFrom is the cross-namespace access list of v1beta1 and v1beta2.
	// Deprecated: never enforced, and dropped from upstream v1.
	// +optional
	AccessFrom *meta.AccessFrom `json:"accessFrom,omitempty"`
}

// GitRepositoryInclude copies (part of) another GitRepository's artifact
// into this one's.
type GitRepositoryInclude struct {
	// GitRepositoryRef names the GitRepository, in the same namespace, whose
	// artifact is included.
	// +required
	GitRepositoryRef meta.LocalObjectReference `json:"repository"`

	// FromPath is the directory of the included artifact to copy; its root
	// when empty.
	// +optional
	FromPath string `json:"fromPath,omitempty"`

	// ToPath is where the copy goes in this artifact; the included
	// repository's name when empty.
	// +optional
	ToPath string `json:"toPath,omitempty"`
}

// GetFromPath returns FromPath.
func (in *GitRepositoryInclude) GetFromPath() string {
	return in.FromPath
}

// GetToPath returns ToPath, or the included repository's name when ToPath
// is empty.
func (in *GitRepositoryInclude) GetToPath() string {
	if in.ToPath != "" {
		return in.ToPath
	}
	return in.GitRepositoryRef.Name
}

// GitRepositoryRef selects the revision to check out. When several fields
// are set, Commit wins over Name, Name over SemVer, SemVer over Tag and Tag
// over Branch (a Commit can be combined with a Branch, to clone only that
// branch).
type GitRepositoryRef struct {
	// Branch to check out; "master" when no field is set.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to check out.
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer is a semantic version range; the highest matching tag is
	// checked out.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Name is a full Git reference such as "refs/heads/main" or
	// "refs/pull/42/head".
	// +optional
	Name string `json:"name,omitempty"`

	// Commit is the SHA of the commit to check out.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// GitRepositoryVerification configures the signature check of commits and
// tags.
type GitRepositoryVerification struct {
	// Mode names the objects to verify. "head" is the old spelling of
	// "HEAD".
	//
	// NOTE: required with only "head" allowed in v1beta1 and v1beta2;
	// optional with a HEAD default in v1. The union is kept.
	// +kubebuilder:validation:Enum=head;HEAD;Tag;TagAndHEAD
	// +kubebuilder:default:=HEAD
	// +optional
	Mode GitVerificationMode `json:"mode,omitempty"`

	// SecretRef names a Secret holding the trusted keys: PGP keys under keys
	// ending in ".asc", SSH keys under keys ending in ".sshpub".
	//
	// NOTE: required in v1 and v1beta2 but optional in v1beta1, so optional
	// here; a verification without it fails at reconcile time.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// GetMode returns Mode, with "head" and unknown or empty values read as
// ModeGitHEAD.
func (in *GitRepositoryVerification) GetMode() GitVerificationMode {
	switch in.Mode {
	case ModeGitTag, ModeGitTagAndHEAD:
		return in.Mode
	default:
		return ModeGitHEAD
	}
}

// VerifyHEAD reports whether the checked-out commit must be verified.
func (in *GitRepositoryVerification) VerifyHEAD() bool {
	m := in.GetMode()
	return m == ModeGitHEAD || m == ModeGitTagAndHEAD
}

// VerifyTag reports whether the checked-out tag must be verified.
func (in *GitRepositoryVerification) VerifyTag() bool {
	m := in.GetMode()
	return m == ModeGitTag || m == ModeGitTagAndHEAD
}

// GitRepositoryStatus is what the controller last observed and produced for
// a GitRepository.
type GitRepositoryStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the state of the object.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is where the latest artifact can be downloaded (v1beta1 and
	// v1beta2; v1 readers use artifact.url).
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the artifact of the last successful reconcile.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// IncludedArtifacts are the artifacts of the spec.include repositories
	// that went into Artifact.
	// +optional
	IncludedArtifacts []*meta.Artifact `json:"includedArtifacts,omitempty"`

	// ContentConfigChecksum was v1beta2's digest of the settings that shape
	// the artifact's content. Deprecated: replaced by the observed* fields.
	// +optional
	ContentConfigChecksum string `json:"contentConfigChecksum,omitempty"`

	// ObservedIgnore is the spec.ignore value used for Artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedRecurseSubmodules is the spec.recurseSubmodules value used for
	// Artifact.
	// +optional
	ObservedRecurseSubmodules bool `json:"observedRecurseSubmodules,omitempty"`

	// ObservedInclude is the spec.include value used for Artifact.
	// +optional
	ObservedInclude []GitRepositoryInclude `json:"observedInclude,omitempty"`

	// ObservedSparseCheckout is the spec.sparseCheckout value used for
	// Artifact.
	// +optional
	ObservedSparseCheckout []string `json:"observedSparseCheckout,omitempty"`

	// SourceVerificationFingerprint identifies the keys that verified the
	// current revision, so that a key change triggers a new verification.
	// +optional
	SourceVerificationFingerprint string `json:"sourceVerificationFingerprint,omitempty"`

	// SourceVerificationMode is the verification mode last applied.
	// +optional
	SourceVerificationMode *GitVerificationMode `json:"sourceVerificationMode,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=gitrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// GitRepository is a Flux source that fetches a Git repository at a chosen
// revision and publishes its content as an artifact.
type GitRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GitRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status GitRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *GitRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *GitRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next check.
func (in *GitRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetArtifact returns the current artifact, or nil.
func (in *GitRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetProvider returns the authentication provider, GitProviderGeneric when
// none is set.
func (in *GitRepository) GetProvider() string {
	if in.Spec.Provider == "" {
		return GitProviderGeneric
	}
	return in.Spec.Provider
}

// GetTimeout returns the timeout of git operations, 60s when none is set.
func (in *GitRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil {
		return 60 * time.Second
	}
	return in.Spec.Timeout.Duration
}

// GitRepositoryList is a list of GitRepository objects.
// +kubebuilder:object:root=true
type GitRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitRepository `json:"items"`
}

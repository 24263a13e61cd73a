package v1

import (
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// GitSpec holds the git settings of an ImageUpdateAutomation: what to check
// out, how to commit and where to push.
type GitSpec struct {
	// Checkout selects the reference to start from; without it the
	// GitRepository's own spec.ref (or its default) is used.
	// +optional
	Checkout *GitCheckoutSpec `json:"checkout,omitempty"`

	// Commit says how commits are authored, signed and described.
	// +required
	Commit CommitSpec `json:"commit"`

	// Push says where commits go; without it they are pushed back to the
	// checked-out branch.
	// +optional
	Push *PushSpec `json:"push,omitempty"`
}

// HasRefspec reports whether a push refspec is configured.
func (in GitSpec) HasRefspec() bool {
	return in.Push != nil && in.Push.Refspec != ""
}

// GitCheckoutSpec names the git reference to clone.
type GitCheckoutSpec struct {
	// Reference is the branch, tag, semver range, ref name or commit to
	// clone.
	// +required
	Reference sourcev1.GitRepositoryRef `json:"ref"`
}

// CommitSpec says how the automation's commits are made.
type CommitSpec struct {
	// Author of the commits.
	// +required
	Author CommitUser `json:"author"`

	// SigningKey, when set, signs the commits.
	// +optional
	SigningKey *SigningKey `json:"signingKey,omitempty"`

	// MessageTemplate is a Go template for the commit message; it can use
	// the automation object and the changes made (the old .Updated field
	// is gone, use .Changed).
	// +optional
	MessageTemplate string `json:"messageTemplate,omitempty"`

	// MessageTemplateValues are extra values available to MessageTemplate.
	// +optional
	MessageTemplateValues map[string]string `json:"messageTemplateValues,omitempty"`
}

// CommitUser is the identity recorded on a commit.
type CommitUser struct {
	// Name of the author.
	// +optional
	Name string `json:"name,omitempty"`

	// Email of the author.
	// +required
	Email string `json:"email"`
}

// SigningKey points at the key used to sign commits.
type SigningKey struct {
	// SecretRef names a Secret in the automation's namespace. For type
	// "gpg" it holds an ASCII-armoured key pair under "git.asc" and an
	// optional "passphrase"; for type "ssh" a private key under "identity"
	// and an optional "password" (the same layout GitRepository uses for
	// SSH authentication).
	// +required
	SecretRef meta.LocalObjectReference `json:"secretRef"`

	// Type of key in the Secret; "gpg" when empty.
	// +optional
	Type SigningKeyType `json:"type,omitempty"`
}

// SigningKeyType is the format of a commit signing key.
// +kubebuilder:validation:Enum=gpg;ssh
type SigningKeyType string

// Values of SigningKeyType.
const (
	// SigningKeyTypeGPG is an OpenPGP key stored under "git.asc".
	SigningKeyTypeGPG SigningKeyType = "gpg"
	// SigningKeyTypeSSH is an SSH private key stored under "identity".
	SigningKeyTypeSSH SigningKeyType = "ssh"
)

// PushSpec says where the automation pushes its commits.
type PushSpec struct {
	// Branch to push to; created from the checked-out reference when it
	// does not exist yet.
	// +optional
	Branch string `json:"branch,omitempty"`

	// NOTE: v1 rejects deleting and forced refspecs with a pattern;
	// v1beta2 and v1beta1 do not, so the schema does not either and the
	// controller must refuse them.

	// Refspec is a git refspec to push with, in addition to Branch when
	// both are set. Deleting refspecs (":dst") and forced ones ("+src:dst")
	// are not supported.
	// +optional
	Refspec string `json:"refspec,omitempty"`

	// Options are git push options sent to the server.
	// +optional
	Options map[string]string `json:"options,omitempty"`
}

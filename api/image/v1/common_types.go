package v1

import "fmt"

// ImageRef identifies one image: a repository name, a tag and, when known,
// the digest that tag resolved to.
type ImageRef struct {
	// Name of the image repository, without tag or digest.
	// +required
	Name string `json:"name"`

	// Tag of the image.
	// +required
	Tag string `json:"tag"`

	// Digest the tag pointed at, such as "sha256:<hex>".
	// +optional
	Digest string `json:"digest,omitempty"`
}

// String formats the reference as "name:tag" or "name:tag@digest".
func (in *ImageRef) String() string {
	s := in.Name + ":" + in.Tag
	if in.Digest != "" {
		s += "@" + in.Digest
	}
	return s
}

// AccessFrom is an access list that lets objects in other namespaces refer to
// the object carrying it, chosen by the labels of their namespace.
//
// NOTE: this is Flux's shared ACL type (also used by the source group); it
// lives here until it is moved to package meta.
type AccessFrom struct {
	// NamespaceSelectors are ORed: a namespace matching any of them is
	// allowed.
	// +required
	NamespaceSelectors []NamespaceSelector `json:"namespaceSelectors"`
}

// NamespaceSelector matches namespaces by label; an empty MatchLabels matches
// every namespace.
type NamespaceSelector struct {
	// MatchLabels lists label key/value pairs that a namespace must all
	// carry.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// GitRepositoryRef selects what to check out of a git repository. When several
// fields are set, Commit wins over Name, Name over SemVer, SemVer over Tag and
// Tag over Branch.
//
// NOTE: this mirrors the source group's GitRepository reference type; it
// lives here until it is moved to a shared package.
type GitRepositoryRef struct {
	// Branch to check out; "master" when no field is set.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to check out.
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer is a version range; the highest matching tag is checked out.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Name is a full git reference such as "refs/heads/main" or
	// "refs/pull/420/head".
	// +optional
	Name string `json:"name,omitempty"`

	// Commit SHA to check out; with Branch, the branch is cloned shallowly
	// and must contain the commit.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// CrossNamespaceSourceReference points an ImageUpdateAutomation at the source
// object it writes to, possibly in another namespace.
type CrossNamespaceSourceReference struct {
	// APIVersion of the source.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the source; only GitRepository is supported.
	// +kubebuilder:validation:Enum=GitRepository
	// +kubebuilder:default=GitRepository
	// +required
	Kind string `json:"kind"`

	// Name of the source.
	// +required
	Name string `json:"name"`

	// Namespace of the source; defaults to the automation's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String formats the reference as "Kind/namespace/name" or "Kind/name".
func (in *CrossNamespaceSourceReference) String() string {
	if in.Namespace != "" {
		return fmt.Sprintf("%s/%s/%s", in.Kind, in.Namespace, in.Name)
	}
	return fmt.Sprintf("%s/%s", in.Kind, in.Name)
}

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

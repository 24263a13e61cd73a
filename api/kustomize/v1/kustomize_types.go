package v1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// This file holds Tether's equivalents of the small Kustomize configuration
// types that Flux shares between its Kustomization and HelmRelease APIs
// (patches, image overrides, object selectors and CEL health checks). The
// JSON field names match Flux's so that existing manifests decode unchanged.

// Image rewrites the name, tag or digest of a container image wherever it is
// referenced in the rendered manifests.
type Image struct {
	// Name is the image name to match, without a tag.
	// +required
	Name string `json:"name"`

	// NewName replaces the matched image name.
	// +optional
	NewName string `json:"newName,omitempty"`

	// NewTag replaces the tag of the matched image.
	// +optional
	NewTag string `json:"newTag,omitempty"`

	// Digest pins the matched image to a digest; when set, NewTag is not
	// used.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// Selector picks out a set of objects from the rendered manifests. An object
// is selected when it matches every field that is set.
type Selector struct {
	// Group is the API group of the objects to select.
	// +optional
	Group string `json:"group,omitempty"`

	// Version is the API version of the objects to select.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind of the objects to select.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Namespace the objects must be in.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name the objects must have; Kustomize treats it as a regular expression.
	// +optional
	Name string `json:"name,omitempty"`

	// AnnotationSelector is a label-selector expression evaluated against the
	// objects' annotations.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`

	// LabelSelector is a label-selector expression evaluated against the
	// objects' labels.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
}

// Patch is an inline patch, either a strategic merge patch or a JSON 6902
// operation list, together with the objects it applies to.
type Patch struct {
	// Patch is the patch document as a YAML or JSON string: a partial object
	// for a strategic merge, or a list of operations for JSON 6902.
	// +required
	Patch string `json:"patch"`

	// Target selects the objects to patch; when empty, a strategic merge
	// patch applies to the object it names.
	// +optional
	Target *Selector `json:"target,omitempty"`
}

// JSON6902 is one operation of an RFC 6902 JSON patch.
type JSON6902 struct {
	// Op is the operation to perform.
	// +kubebuilder:validation:Enum=test;remove;add;replace;move;copy
	// +required
	Op string `json:"op"`

	// Path is the JSON pointer the operation acts on.
	// +required
	Path string `json:"path"`

	// From is the source JSON pointer of a move or copy operation.
	// +optional
	From string `json:"from,omitempty"`

	// Value is the JSON value used by add, replace and test operations.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Value *apiextensionsv1.JSON `json:"value,omitempty"`
}

// JSON6902Patch is a structured JSON 6902 patch and the objects it applies
// to, as accepted by the deprecated patchesJson6902 fields.
type JSON6902Patch struct {
	// Patch is the list of operations to apply.
	// +required
	Patch []JSON6902 `json:"patch"`

	// Target selects the objects to patch.
	// +required
	Target Selector `json:"target"`
}

// CustomHealthCheck tells how to judge the health of objects of one kind,
// usually a custom resource, with CEL expressions.
type CustomHealthCheck struct {
	// APIVersion of the objects the expressions apply to.
	// +required
	APIVersion string `json:"apiVersion"`

	// Kind of the objects the expressions apply to.
	// +optional
	Kind string `json:"kind,omitempty"`

	HealthCheckExpressions `json:",inline"`
}

// HealthCheckExpressions holds the CEL expressions that classify an object
// as healthy, still progressing, or failed.
type HealthCheckExpressions struct {
	// Current is a CEL expression that is true once the object has reached
	// its desired state.
	// +required
	Current string `json:"current"`

	// InProgress is a CEL expression that is true while the object is still
	// working towards its desired state.
	// +optional
	InProgress string `json:"inProgress,omitempty"`

	// Failed is a CEL expression that is true when the object has failed to
	// reach its desired state.
	// +optional
	Failed string `json:"failed,omitempty"`
}

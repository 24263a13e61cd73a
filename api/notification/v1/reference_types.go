package v1

// CrossNamespaceObjectReference selects Flux objects, possibly in another
// namespace, by kind and name (or "*" with MatchLabels). Alerts use it for
// their event sources and Receivers for the objects they trigger.
type CrossNamespaceObjectReference struct {
	// APIVersion of the referent.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent.
	// +kubebuilder:validation:Enum=Bucket;GitRepository;Kustomization;HelmRelease;HelmChart;HelmRepository;ImageRepository;ImagePolicy;ImageUpdateAutomation;OCIRepository;ArtifactGenerator;ExternalArtifact
	// +required
	Kind string `json:"kind"`

	// NOTE: v1beta1 and v1beta2 capped name and namespace at 53
	// characters; the looser v1 limit of 253 is kept.

	// Name of the referent, or "*" for every object of the kind.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the referrer's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// MatchLabels restricts a "*" name to the objects carrying all of
	// these labels.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

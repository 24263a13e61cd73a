package meta

// LocalObjectReference names an object in the namespace of the referrer.
type LocalObjectReference struct {
	// Name of the referent.
	// +required
	Name string `json:"name"`
}

// NamespacedObjectReference names an object that may live in another
// namespace; an empty Namespace means the referrer's own.
type NamespacedObjectReference struct {
	// Name of the referent.
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String returns "namespace/name", or "name" when no namespace is set.
func (in NamespacedObjectReference) String() string {
	if in.Namespace == "" {
		return in.Name
	}
	return in.Namespace + "/" + in.Name
}

// DependencyReference names an object this one waits for, optionally with a
// CEL expression that decides when the dependency counts as ready.
type DependencyReference struct {
	// Name of the dependency.
	// +required
	Name string `json:"name"`

	// Namespace of the dependency; defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// ReadyExpr is a CEL expression evaluated against the dependency; when
	// set it replaces the default readiness check.
	// +optional
	ReadyExpr string `json:"readyExpr,omitempty"`
}

// NamespacedObjectKindReference names an object of any kind.
type NamespacedObjectKindReference struct {
	// APIVersion of the referent, such as apps/v1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent.
	// +required
	Kind string `json:"kind"`

	// Name of the referent.
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SecretKeyReference names one key of a Secret in the referrer's namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +required
	Name string `json:"name"`

	// Key in the Secret's data; each consumer documents its default.
	// +optional
	Key string `json:"key,omitempty"`
}

// KubeConfigReference points at the credentials of a remote cluster.
type KubeConfigReference struct {
	// ConfigMapRef names a ConfigMap that describes how to obtain
	// credentials from a cloud provider for the remote cluster.
	// +optional
	ConfigMapRef *LocalObjectReference `json:"configMapRef,omitempty"`

	// SecretRef names a Secret key that holds a kubeconfig file (keys
	// "value" or "value.yaml" when Key is empty).
	// +optional
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`
}

// ValuesReference points at Helm values held in a ConfigMap or Secret.
type ValuesReference struct {
	// Kind of the values source.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the values source, in the referrer's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// ValuesKey is the data key that holds the values; defaults to
	// "values.yaml".
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[\-._a-zA-Z0-9]+$`
	// +optional
	ValuesKey string `json:"valuesKey,omitempty"`

	// TargetPath is the dotted path at which the value is merged; when set,
	// the key holds a single value instead of a YAML document.
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:Pattern=`^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$`
	// +optional
	TargetPath string `json:"targetPath,omitempty"`

	// Optional makes a missing source or key not an error.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// GetValuesKey returns ValuesKey, or "values.yaml" when it is empty.
func (in ValuesReference) GetValuesKey() string {
	if in.ValuesKey == "" {
		return "values.yaml"
	}
	return in.ValuesKey
}

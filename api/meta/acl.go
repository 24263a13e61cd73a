package meta

// AccessFrom lists the namespaces whose objects may refer to a source across
// namespaces. Flux declared it on its v1beta sources without ever enforcing
// it; Tether keeps the field so that such manifests still apply.
// Flux shares this type between the source and image groups.
type AccessFrom struct {
	// NamespaceSelectors is a list of selectors; a namespace matching any
	// one of them is granted access.
	// +required
	NamespaceSelectors []NamespaceSelector `json:"namespaceSelectors"`
}

// NamespaceSelector matches namespaces by their labels. An empty selector
// matches every namespace.
type NamespaceSelector struct {
	// MatchLabels are label key/value pairs that a namespace must all carry.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

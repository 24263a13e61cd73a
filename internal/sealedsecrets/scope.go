package sealedsecrets

import (
	"fmt"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
)

// Scope says where a sealed value may be opened. It decides the RSA-OAEP
// label, so a value sealed for one scope opens under no other.
type Scope int

const (
	// StrictScope binds a value to one name in one namespace; the label
	// is namespace + "/" + name. It is the default.
	StrictScope Scope = iota
	// NamespaceWideScope binds a value to a namespace under any name; the
	// label is the namespace.
	NamespaceWideScope
	// ClusterWideScope lets a value open under any name in any namespace;
	// the label is empty.
	ClusterWideScope
)

// String returns the name kubeseal's --scope flag uses for s.
func (s Scope) String() string {
	switch s {
	case StrictScope:
		return "strict"
	case NamespaceWideScope:
		return "namespace-wide"
	case ClusterWideScope:
		return "cluster-wide"
	default:
		return fmt.Sprintf("undefined-%d", int(s))
	}
}

// ParseScope reads a scope as kubeseal's --scope flag does: "strict",
// "namespace-wide", "cluster-wide", or "" for the default (strict).
func ParseScope(v string) (Scope, error) {
	switch v {
	case "", "strict":
		return StrictScope, nil
	case "namespace-wide":
		return NamespaceWideScope, nil
	case "cluster-wide":
		return ClusterWideScope, nil
	default:
		return StrictScope, fmt.Errorf("scope %q: must be one of strict, namespace-wide, cluster-wide", v)
	}
}

// Label returns the RSA-OAEP label Bitnami's EncryptionLabel gives a value
// of scope s in namespace under name. An unknown scope is treated as strict,
// as upstream does.
func (s Scope) Label(namespace, name string) []byte {
	switch s {
	case ClusterWideScope:
		return []byte{}
	case NamespaceWideScope:
		return []byte(namespace)
	default:
		return []byte(namespace + "/" + name)
	}
}

// ScopeOf returns the scope that annotations declare, as Bitnami's
// SecretScope does: cluster-wide when
// sealedsecrets.bitnami.com/cluster-wide is "true" (it wins over the
// other), else namespace-wide when sealedsecrets.bitnami.com/namespace-wide
// is "true", else strict. Only the exact value "true" counts.
//
// The sealedsecrets.bitnami.com/scope annotation that upstream's README
// announces is not read: upstream's controller does not read it either, and
// honouring it would open values that Bitnami's controller refuses.
func ScopeOf(annotations map[string]string) Scope {
	if annotations[v1alpha1.AnnotationClusterWide] == "true" {
		return ClusterWideScope
	}
	if annotations[v1alpha1.AnnotationNamespaceWide] == "true" {
		return NamespaceWideScope
	}
	return StrictScope
}

// ScopeAnnotations returns annotations with the scope annotations set for
// scope, as Bitnami's UpdateScopeAnnotations does: both are removed, then
// the one for a wider scope is set to "true". A nil map is allocated.
func ScopeAnnotations(annotations map[string]string, scope Scope) map[string]string {
	if annotations == nil {
		annotations = map[string]string{}
	}
	delete(annotations, v1alpha1.AnnotationNamespaceWide)
	delete(annotations, v1alpha1.AnnotationClusterWide)
	switch scope {
	case NamespaceWideScope:
		annotations[v1alpha1.AnnotationNamespaceWide] = "true"
	case ClusterWideScope:
		annotations[v1alpha1.AnnotationClusterWide] = "true"
	}
	return annotations
}

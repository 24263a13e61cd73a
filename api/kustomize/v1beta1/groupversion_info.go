package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion names this package's API group and version.
var GroupVersion = schema.GroupVersion{Group: "kustomize.toolkit.fluxcd.io", Version: "v1beta1"}

var (
	// SchemeBuilder collects the functions that register this version's
	// types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers this version's types with a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers the Kustomization kinds of this version.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Kustomization{}, &KustomizationList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

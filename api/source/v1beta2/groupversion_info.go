package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of the kinds in this package.
var GroupVersion = schema.GroupVersion{Group: "source.toolkit.fluxcd.io", Version: "v1beta2"}

var (
	// SchemeBuilder collects the functions that register this package's
	// kinds with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers this package's kinds with a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers the root and list types of this package.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&GitRepository{}, &GitRepositoryList{},
		&HelmRepository{}, &HelmRepositoryList{},
		&HelmChart{}, &HelmChartList{},
		&OCIRepository{}, &OCIRepositoryList{},
		&Bucket{}, &BucketList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

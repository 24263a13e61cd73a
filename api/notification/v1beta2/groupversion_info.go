package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion names the notification.toolkit.fluxcd.io/v1beta2 API.
var GroupVersion = schema.GroupVersion{Group: "notification.toolkit.fluxcd.io", Version: "v1beta2"}

var (
	// SchemeBuilder collects the functions that register this version's
	// types.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers this version's types with a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Provider{}, &ProviderList{},
		&Alert{}, &AlertList{},
		&Receiver{}, &ReceiverList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

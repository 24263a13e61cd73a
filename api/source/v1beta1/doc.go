// Package v1beta1 serves the source.toolkit.fluxcd.io/v1beta1 API version of
// Tether, so that Flux manifests written for v1beta1 apply unchanged.
//
// The CRDs use conversion strategy None and one schema for every served
// version, so this package declares only the root and list types; their
// spec and status are the union types of the storage version, package
// github.com/tether-gitops/tether/api/source/v1. The API server stores
// objects sent as v1beta1 unchanged apart from apiVersion.
//
// +kubebuilder:object:generate=true
// +groupName=source.toolkit.fluxcd.io
package v1beta1

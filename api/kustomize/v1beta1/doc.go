// Package v1beta1 serves the v1beta1 version of Tether's kustomize.toolkit.fluxcd.io
// API group, so that Flux manifests written for it apply unchanged.
//
// The version shares its schema with the storage version: the root and list
// types declared here hold the Spec and Status types of package v1, which
// are a superset of the fields Flux's v1beta1 API accepted.
//
// +kubebuilder:object:generate=true
// +groupName=kustomize.toolkit.fluxcd.io
package v1beta1

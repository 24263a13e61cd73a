// Package v2beta2 serves the v2beta2 version of Tether's helm.toolkit.fluxcd.io API
// group, so that Flux manifests written for it apply unchanged.
//
// The version shares its schema with the storage version: the root and list
// types declared here hold the Spec and Status types of package v2, which are
// a superset of the fields Flux's v2beta2 API accepted.
//
// +kubebuilder:object:generate=true
// +groupName=helm.toolkit.fluxcd.io
package v2beta2

// Package v2 holds the storage version of Tether's helm.toolkit.fluxcd.io
// API group, whose single kind is HelmRelease.
//
// Every served version of the group (v2, v2beta2 and v2beta1) shares the
// schema defined here: it is the union of the fields that Flux ever accepted
// in any of those versions, so a manifest written against an older Flux API
// keeps all of its fields when the API server stores it as v2. The older
// version packages only re-declare the root and list types around these Spec
// and Status types.
//
// +kubebuilder:object:generate=true
// +groupName=helm.toolkit.fluxcd.io
package v2

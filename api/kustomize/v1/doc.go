// Package v1 holds the storage version of Tether's kustomize.toolkit.fluxcd.io
// API group, whose single kind is Kustomization.
//
// Every served version of the group (v1, v1beta2 and v1beta1) shares the
// schema defined here: it is the union of the fields that Flux ever accepted in
// any of those versions, so a manifest written against an older Flux API keeps
// all of its fields when the API server stores it as v1. The older version
// packages only re-declare the root and list types around these Spec and
// Status types.
//
// The package also carries Tether's own copies of the Kustomize helper types
// (patches, image overrides, selectors, CEL health checks) that Flux keeps in
// a separate module; the helm.toolkit.fluxcd.io group reuses them.
//
// +kubebuilder:object:generate=true
// +groupName=kustomize.toolkit.fluxcd.io
package v1

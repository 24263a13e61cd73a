// Package meta holds the small types that every Flux-dialect API group of
// Tether shares: object references, the artifact record, the reconcile
// request handshake and the names of the conditions and annotations that Flux
// users and tools already know.
//
// The types carry the JSON field names that Flux's own APIs use, so that YAML
// written for Flux is accepted unchanged.
//
// +kubebuilder:object:generate=true
package meta

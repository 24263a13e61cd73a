// Package v1 is the storage version of Tether's image.toolkit.fluxcd.io API
// group: the ImageRepository, ImagePolicy and ImageUpdateAutomation kinds that
// Flux's image-reflector and image-automation controllers define.
//
// The Spec and Status types in this package are the union of every field the
// served versions (v1, v1beta2 and v1beta1) have ever carried, so that an
// object written against any of them keeps all of its fields. The packages for
// the older versions reuse these types.
//
// +kubebuilder:object:generate=true
// +groupName=image.toolkit.fluxcd.io
package v1

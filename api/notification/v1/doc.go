// Package v1 is the storage version of Tether's
// notification.toolkit.fluxcd.io API group: the Provider, Alert and Receiver
// kinds that Flux's notification controller defines.
//
// The Spec and Status types in this package are the union of every field the
// served versions (v1, v1beta3, v1beta2 and v1beta1) have ever carried, so
// that an object written against any of them keeps all of its fields. The
// packages for the older versions reuse these types.
//
// +kubebuilder:object:generate=true
// +groupName=notification.toolkit.fluxcd.io
package v1

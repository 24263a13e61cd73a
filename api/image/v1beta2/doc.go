// Package v1beta2 serves the image.toolkit.fluxcd.io/v1beta2 API of Tether.
//
// Only the root and list types live here; their Spec and Status are the
// superset types of the storage package
// github.com/tether-gitops/tether/api/image/v1, so every served version
// shares one schema.
//
// +kubebuilder:object:generate=true
// +groupName=image.toolkit.fluxcd.io
package v1beta2

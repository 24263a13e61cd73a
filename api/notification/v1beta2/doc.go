// Package v1beta2 serves the notification.toolkit.fluxcd.io/v1beta2 API of Tether.
//
// Only the root and list types live here; their Spec and Status are the
// superset types of the storage package
// github.com/tether-gitops/tether/api/notification/v1, so every served
// version shares one schema.
//
// +kubebuilder:object:generate=true
// +groupName=notification.toolkit.fluxcd.io
package v1beta2

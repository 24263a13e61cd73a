// Package v1alpha1 holds Tether's Go types for the bitnami.com/v1alpha1 API
// group: the SealedSecret kind of the Sealed Secrets project.
//
// Field names, JSON tags and validation follow the published Sealed Secrets
// CRD, so that sealed manifests produced by kubeseal are accepted by Tether
// unchanged. The doc comments are Tether's own.
//
// +kubebuilder:object:generate=true
// +groupName=bitnami.com
package v1alpha1

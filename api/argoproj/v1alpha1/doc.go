// Package v1alpha1 holds Tether's Go types for the argoproj.io/v1alpha1 API
// group: the Application and AppProject kinds that Argo CD users write.
//
// Field names, JSON tags and validation follow Argo CD's published CRDs, so
// that manifests written for Argo CD are accepted by Tether unchanged. The
// doc comments are Tether's own and describe how Tether reads each field.
//
// +kubebuilder:object:generate=true
// +groupName=argoproj.io
package v1alpha1

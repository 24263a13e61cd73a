// Package v1 holds Tether's Go types for the source.toolkit.fluxcd.io API
// group at version v1, the storage version of the group. It covers the
// GitRepository, HelmRepository, HelmChart, OCIRepository and Bucket
// kinds, which tell a controller where to fetch content from and how to
// publish it as an artifact.
//
// The CRDs serve v1 next to the older v1beta2 and v1beta1 with conversion
// strategy None, so every served version shares one schema. The Spec and
// Status types here are therefore a union of what all those upstream
// versions accept: fields that only a beta version knew (for example
// GitRepository's gitImplementation and accessFrom, or HelmChart's
// valuesFile) are kept, and where the versions disagree on validation the
// looser rule wins. The packages v1beta2 and v1beta1 only declare their root
// and list types and reuse the types of this package.
//
// Durations: where some served upstream version had no pattern on a
// duration field, the schema uses a pattern that matches exactly the strings
// Go's time.ParseDuration accepts, instead of the narrower v1 pattern. Any
// value that an older Flux version accepted and could decode is thus
// accepted, while text that no controller could decode is still refused.
//
// Field names, JSON tags, enums and defaults follow Flux's published APIs so
// that YAML written for Flux applies unchanged; the comments are Tether's own.
//
// +kubebuilder:object:generate=true
// +groupName=source.toolkit.fluxcd.io
package v1

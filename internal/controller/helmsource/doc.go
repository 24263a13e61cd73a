// Package helmsource reconciles Flux's Helm sources: HelmRepository (an
// HTTP chart repository whose index becomes an artifact, or a static
// pointer to an OCI registry) and HelmChart (one chart, resolved from a
// version or semver range and stored as a chart archive artifact, from a
// HelmRepository or packaged from a GitRepository path).
//
// Both follow GitRepository's shape: finalizer, suspend, requestedAt,
// credentials, fetch, an up-to-date check that skips work when nothing
// changed, store, status. The Helm SDK is used only through
// internal/helm.
package helmsource

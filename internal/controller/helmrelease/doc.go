// Package helmrelease reconciles Flux HelmReleases (every served version,
// read and written as helm.toolkit.fluxcd.io/v2).
//
// A reconcile reads like Flux's helm-controller: finalizer, suspend,
// dependsOn, the chart (a HelmChart made from spec.chart, or
// spec.chartRef), values (valuesFrom in order, then spec.values), the
// target cluster and identity, then a loop that looks at the release's
// state in Helm's own storage and takes one action at a time (install,
// upgrade, test, unlock, drift correction, or a remediation: rollback or
// uninstall) until the release is in sync or a remediation asks for a new
// attempt later. Releases are made with the Helm SDK (internal/helm) and
// stored as Helm stores them, so `helm list` and `helm history` see them.
//
// Drift detection does not use Helm: the release's manifest goes through
// the engine's server-side dry run (internal/engine.Compare), the same
// comparison every other dialect uses, and drift is corrected by applying
// only the drifted objects.
package helmrelease

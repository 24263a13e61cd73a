// Package application reconciles Argo CD Applications
// (argoproj.io/v1alpha1) on Tether's shared pipeline: the Git fetcher
// resolves and checks out spec.source, internal/render renders it as Argo CD
// would (a plain directory, a directory with recurse/include/exclude, or a
// Kustomize overlay with Argo's kustomize options), internal/engine compares
// the result with the cluster by server-side dry run and applies it, and
// internal/health judges the live objects with Argo CD's built-in rules.
//
// Status is written as Argo CD writes it: status.sync (Synced / OutOfSync /
// Unknown and the revision), status.health, status.resources per object,
// status.summary, status.conditions, status.operationState and
// status.history. Objects are tracked by Argo's annotation
// argocd.argoproj.io/tracking-id, so an Argo CD installation and Tether
// recognise each other's objects.
//
// A sync runs when a user sets the top-level `operation` field (as the argocd
// CLI does) or, with spec.syncPolicy.automated, when the app is OutOfSync.
// It runs in phases (PreSync, Sync, PostSync; SyncFail after a failure) and,
// within a phase, in waves (argocd.argoproj.io/sync-wave): hooks are created
// and awaited, each wave waits until the previous one is healthy, and the
// whole desired set is validated by dry run before the first write.
//
//	r := &application.Reconciler{Client: mgr.GetClient(), Fetcher: fetcher, Renderer: renderer}
//	if err := r.SetupWithManager(mgr); err != nil { ... }
package application

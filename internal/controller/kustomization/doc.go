// Package kustomization reconciles Flux Kustomization objects (every served
// version, read and written as kustomize.toolkit.fluxcd.io/v1) on Tether's
// engine: the source artifact is rendered by internal/render, applied,
// pruned and health-checked by internal/engine, and the result is written
// back as Flux's status (conditions, lastAppliedRevision,
// lastAttemptedRevision, inventory) and events.
//
// Live state is watched: every kind in an inventory gets a metadata-only
// watch limited to objects carrying the kustomize.toolkit.fluxcd.io/name
// label, so an edited or deleted object brings its Kustomization back
// within seconds. A reconcile whose revision, spec and watched objects are
// unchanged does not render or write anything.
//
//	r := &kustomization.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
//		Config: mgr.GetConfig(), Storage: storage, Renderer: render.NewRenderer(256)}
//	err := r.SetupWithManager(mgr)
package kustomization

// Package gitrepository reconciles Flux GitRepository objects (every
// served version; the controller reads and writes them as
// source.toolkit.fluxcd.io/v1, which shares one schema with v1beta2 and
// v1beta1).
//
// A reconcile resolves the ref with the shared Git fetcher (ls-remote
// first, so nothing is downloaded when the head has not moved), checks the
// commit out once per (URL, commit) for every consumer, packs the filtered
// tree (spec.ignore, .sourceignore, Flux's default exclusions, spec.include)
// into a tar.gz artifact, stores it in the artifact server and records it in
// status.artifact as Flux's source-controller does. A failure keeps the
// previous artifact available.
//
//	r := &gitrepository.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
//		Fetcher: fetcher, Storage: storage, Events: recorder}
//	err := r.SetupWithManager(mgr)
package gitrepository

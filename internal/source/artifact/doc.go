// Package artifact turns a fetched source tree into the tar.gz artifact that
// Flux's consumers download, keeps those artifacts on disk, serves them over
// HTTP and removes the ones nobody needs any more.
//
// Packing applies the ignore rules that Flux's source-controller applies
// (default exclusions, .sourceignore files, spec.ignore) and writes a
// deterministic archive: the same tree always gives the same bytes, so the
// digest identifies the content. Packing only reads the tree; symlinks that
// would lead outside the artifact fail the pack.
//
//	store, err := artifact.NewStorage("/data", "http://source-controller.flux-system.svc.cluster.local.")
//	if err != nil { ... }
//	stored, err := store.Store(ctx, "GitRepository", "flux-system", "podinfo",
//		func(w io.Writer) (artifact.PackResult, error) {
//			return artifact.Pack(ctx, w, artifact.PackOptions{
//				Dir:    checkoutDir,
//				Ignore: "# exclude all\n/*\n# include deploy dir\n!/deploy",
//			})
//		})
//	// stored.Path == "gitrepository/flux-system/podinfo/<hex>.tar.gz"
//	// stored.URL  == "http://source-controller.flux-system.svc.cluster.local./gitrepository/..."
//	_, err = store.GC("GitRepository", "flux-system", "podinfo", 2, stored.Path)
//	http.ListenAndServe(":9090", store.Handler())
//
// Included repositories (GitRepository spec.include) are unpacked with
// Storage.Extract and mounted into the packed tree with PackOptions.Includes.
package artifact

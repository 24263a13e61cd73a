// Package render turns an unpacked source artifact (a folder on disk,
// which it only reads: it may be a shared cache) into Kubernetes objects,
// for Flux Kustomizations and Argo CD directory and kustomize sources.
//
//	r := render.NewRenderer(256)
//	objs, err := r.Render(ctx, "/cache/gitrepository/flux-system/podinfo/3f2a", "sha256:3f2a...", render.Options{
//		Path:            "./deploy/webapp",
//		Mode:            render.ModeAuto, // Flux: kustomize, generating a kustomization.yaml when there is none
//		TargetNamespace: "webapp",
//		Images:          []render.Image{{Name: "ghcr.io/stefanprodan/podinfo", NewTag: "6.5.0"}},
//		Substitute:      map[string]string{"cluster_env": "prod"},
//	})
//	for _, o := range objs {
//		fmt.Println(o.Source, o.Obj.GetKind(), o.Obj.GetName()) // deploy/webapp/deployment.yaml Deployment webapp
//	}
//
// Modes:
//
//   - ModeAuto (Flux): kustomize builds Path; when it has no kustomization
//     file, one is generated as Flux's kustomize-controller does (every
//     .yaml/.yml file below Path holding Kubernetes objects, and every
//     subfolder with its own kustomization file). The Options overlays
//     (namespace, name prefix and suffix, labels, annotations, images,
//     patches, replicas, components) are written into that kustomization,
//     generated or the user's, so both get them.
//   - ModeKustomize (Argo CD kustomize source): the same, but Path must
//     have a kustomization file.
//   - ModeDirectory (Argo CD directory source): the .yaml, .yml and .json
//     files of Path, optionally recursive and filtered by Include and
//     Exclude globs in Argo CD's syntax.
//
// After the build, Flux's commonMetadata is set on every object and
// Flux's postBuild variables are expanded (package varsub).
//
// Safety, each backed by a test named after the advisory:
//
//   - Kustomize runs through krusty on an in-memory copy of the source:
//     paths, symlinks and kustomization entries that leave the root are
//     refused by name (CVE-2022-24877, CVE-2022-31036); plugins, exec and
//     container functions and Helm are off; remote bases and files are
//     refused unless AllowRemoteBases.
//   - A build is bounded by ctx (CVE-2022-24878), and a render by
//     MaxBytes read and MaxObjects produced (GHSA-jhqp-vf4w-rpwq).
//
// Render is a pure function of (key, Options), key being the digest of
// the source: results are cached in an LRU and handed out as deep copies,
// so an unchanged input is rendered once and callers may mutate what they
// get. Errors name the file and, where known, the line:
// "deploy/webapp/deployment.yaml: yaml: line 7: mapping values are not
// allowed in this context".
package render

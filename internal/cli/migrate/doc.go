// Package migrate implements `tether migrate`, which turns Argo CD
// Applications into the Flux objects that do the same work, and Flux
// objects back into Applications.
//
// An Application whose source is a Git directory becomes a GitRepository
// and a Kustomization; a chart from a Helm repository becomes a
// HelmRepository (type oci for oci:// URLs) and a HelmRelease; a chart in
// a Git path (a source with a helm block) becomes a GitRepository and a
// HelmRelease whose chart comes from it. The reverse direction pairs each
// Kustomization or HelmRelease with the source it names.
//
// Fields that have no counterpart are never dropped silently: each one
// becomes a Warning naming the object and the field path, and Strict turns
// them into an error.
//
//	res, err := migrate.Convert([]migrate.Input{{Name: "app.yaml", Data: data}}, migrate.Defaults())
//	if err != nil {
//		return err
//	}
//	for _, w := range res.Warnings {
//		fmt.Fprintln(os.Stderr, w)
//	}
//	return res.WriteYAML(os.Stdout)
package migrate

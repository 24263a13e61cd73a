// Package install is `tether install`, `tether uninstall` and `tether
// check`: the manifests of config/install, built with Kustomize from the
// copy embedded in the binary, applied to (or removed from) a cluster,
// and a report of what a cluster lacks, as `flux check` gives.
package install

import (
	"fmt"
	"io/fs"
	"path"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/tether-gitops/tether/config"
)

// Overlays are the install's variants: "base" (tether-system, Tether's
// names) and the overlays of config/install/overlays.
var Overlays = []string{"base", "argocd-compat", "flux-compat"}

// Manifests builds overlay from the embedded config/install, as `kubectl
// apply -k` would build it from the repository.
func Manifests(overlay string) ([]*unstructured.Unstructured, error) {
	if !slices.Contains(Overlays, overlay) {
		return nil, fmt.Errorf("unknown overlay %q: use one of %v", overlay, Overlays)
	}
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(config.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := config.FS.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/config", p), data)
	})
	if err != nil {
		return nil, fmt.Errorf("read the embedded manifests: %w", err)
	}
	dir := "/config/install/base"
	if overlay != "base" {
		dir = "/config/install/overlays/" + overlay
	}
	return Build(mem, dir)
}

// Build runs Kustomize over dir of fsys, as `kubectl apply -k` does, and
// returns the objects.
func Build(fsys filesys.FileSystem, dir string) ([]*unstructured.Unstructured, error) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out := make([]*unstructured.Unstructured, 0, len(res.Resources()))
	for _, r := range res.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// clusterWide reports whether o is applied before the rest: the kinds
// the others need (CRDs, Namespaces).
func clusterWide(o *unstructured.Unstructured) bool {
	return o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Namespace"
}

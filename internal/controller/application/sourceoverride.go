package application

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// maxOverrideFile bounds a .argocd-source file.
const maxOverrideFile = 1 << 20

// withSourceOverrides merges Argo CD's parameter override files of the
// source's folder into src, as Argo CD's repo server does:
// ".argocd-source.yaml", then ".argocd-source-<app>.yaml", each a JSON
// merge patch of the source (kustomize.images, helm.parameters, ...). Argo
// CD Image Updater's Git write-back writes the second one. The files are
// read inside the checkout only.
func withSourceOverrides(dir string, src argov1.ApplicationSource, appName string) (argov1.ApplicationSource, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return src, err
	}
	defer root.Close()
	base := path.Clean(defaultPath(src.Path))
	if !filepath.IsLocal(filepath.FromSlash(base)) && base != "." {
		// The renderer refuses such a path with its own message
		// (CVE-2022-36035); there are no overrides to read.
		return src, nil
	}
	for _, name := range []string{".argocd-source.yaml", ".argocd-source-" + appName + ".yaml"} {
		p := path.Join(base, name)
		f, err := root.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return src, fmt.Errorf("read %s: %w", p, err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxOverrideFile+1))
		f.Close()
		if err != nil {
			return src, fmt.Errorf("read %s: %w", p, err)
		}
		if len(data) > maxOverrideFile {
			return src, fmt.Errorf("%s: larger than %d bytes", p, maxOverrideFile)
		}
		patch, err := yaml.YAMLToJSON(data)
		if err != nil {
			return src, fmt.Errorf("%s: %w", p, err)
		}
		if string(patch) == "null" {
			continue
		}
		cur, err := json.Marshal(src)
		if err != nil {
			return src, err
		}
		merged, err := jsonpatch.MergePatch(cur, patch)
		if err != nil {
			return src, fmt.Errorf("%s: %w", p, err)
		}
		var out argov1.ApplicationSource
		if err := json.Unmarshal(merged, &out); err != nil {
			return src, fmt.Errorf("%s: %w", p, err)
		}
		// The override never moves the source: repository, path and
		// revision stay the Application's.
		out.RepoURL, out.Path, out.TargetRevision, out.Chart, out.Ref = src.RepoURL, src.Path, src.TargetRevision, src.Chart, src.Ref
		src = out
	}
	return src, nil
}

package render

import (
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// generateResources lists what Flux's generator puts in a kustomization it
// writes for a folder without one: every .yaml and .yml file below dir
// that holds Kubernetes objects, and every subfolder that has its own
// kustomization file (not descended into).
func generateResources(fs filesys.FileSystem, dir string) ([]string, error) {
	var resources []string
	err := fs.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel := "./" + strings.TrimPrefix(p, dir+"/")
		if info.IsDir() {
			if kustomizationFile(fs, p) != "" {
				resources = append(resources, rel)
				return filepath.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(p)
		if err != nil {
			return err
		}
		objs, err := decodeManifests(relPath(p), data, false)
		if err != nil {
			return err
		}
		if len(objs) > 0 {
			resources = append(resources, rel)
		}
		return nil
	})
	return resources, err
}

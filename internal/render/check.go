package render

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// checker reads a kustomization and every local kustomization it includes
// before kustomize runs, and refuses entries that leave the source root
// (CVE-2022-24877), remote bases and files unless allowed (kustomize would
// run git or fetch over HTTP), and local entries that do not exist. It
// also parses the manifests listed as resources, so that a YAML error
// names its file and line.
type checker struct {
	fs          filesys.FileSystem
	allowRemote bool
	seen        map[string]bool
}

// ref is one path in a kustomization: field names it for messages.
type ref struct {
	field, value string
	manifest     bool // a resource: a manifest file or a kustomization folder
	folder       bool // may be a kustomization folder to check in turn
}

func (c *checker) check(dir string) error {
	if c.seen[dir] {
		return nil
	}
	c.seen[dir] = true
	kfile := kustomizationFile(c.fs, dir)
	if kfile == "" {
		return nil // kustomize reports the missing file itself
	}
	data, err := c.fs.ReadFile(kfile)
	if err != nil {
		return err
	}
	var k kustypes.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return yamlError(relPath(kfile), 1, err)
	}
	for _, r := range refs(&k) {
		if err := c.checkRef(dir, kfile, r); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) checkRef(dir, kfile string, r ref) error {
	where := fmt.Sprintf("%s: %s %q", relPath(kfile), r.field, r.value)
	if isRemote(r.value) {
		if c.allowRemote {
			return nil
		}
		return fmt.Errorf("%s: %w", where, ErrRemoteBase)
	}
	p := path.Join(dir, r.value)
	if path.IsAbs(r.value) {
		p = path.Clean(r.value)
	}
	if !within(mountDir, p) {
		return fmt.Errorf("%s: %w", where, ErrOutsideRoot)
	}
	if !c.fs.Exists(p) {
		return fmt.Errorf("%s: not found in the source", where)
	}
	if c.fs.IsDir(p) {
		if r.folder {
			return c.check(p)
		}
		return nil
	}
	if r.manifest {
		data, err := c.fs.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := decodeManifests(relPath(p), data, false); err != nil {
			return err
		}
	}
	return nil
}

// refs lists the paths a kustomization names.
func refs(k *kustypes.Kustomization) []ref {
	var out []ref
	add := func(field string, manifest, folder bool, values ...string) {
		for _, v := range values {
			if v = strings.TrimSpace(v); v != "" && !strings.Contains(v, "\n") {
				out = append(out, ref{field: field, value: v, manifest: manifest, folder: folder})
			}
		}
	}
	add("resources", true, true, k.Resources...)
	add("bases", true, true, k.Bases...)
	add("components", false, true, k.Components...)
	add("generators", false, true, k.Generators...)
	add("transformers", false, true, k.Transformers...)
	add("validators", false, true, k.Validators...)
	add("crds", false, false, k.Crds...)
	add("configurations", false, false, k.Configurations...)
	add("openapi", false, false, k.OpenAPI["path"])
	for _, p := range append(k.Patches, k.PatchesJson6902...) {
		add("patches", false, false, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		if s := string(p); !strings.ContainsAny(s, ":{") {
			add("patchesStrategicMerge", false, false, s)
		}
	}
	for _, r := range k.Replacements {
		add("replacements", false, false, r.Path)
	}
	var generators []kustypes.GeneratorArgs
	for _, g := range k.ConfigMapGenerator {
		generators = append(generators, g.GeneratorArgs)
	}
	for _, g := range k.SecretGenerator {
		generators = append(generators, g.GeneratorArgs)
	}
	for _, g := range generators {
		for _, f := range g.FileSources {
			if _, file, ok := strings.Cut(f, "="); ok {
				f = file
			}
			add("files", false, false, f)
		}
		add("envs", false, false, append(g.EnvSources, g.EnvSource)...)
	}
	return out
}

// scpUser is the "user@" that makes kustomize read an entry as a Git URL.
var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize would clone or download v: the URL
// forms its Git and HTTP loaders accept.
func isRemote(v string) bool {
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimPrefix(s, "git::")
	for _, prefix := range []string{"http://", "https://", "ssh://", "file://", "github.com/", "github.com:"} {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return scpUser.MatchString(s)
}

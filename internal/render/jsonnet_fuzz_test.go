package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzJsonnetObjects: what a repository's .jsonnet evaluates to is read
// as objects. It must fail with an error naming the file, never panic,
// and what it accepts are objects with an apiVersion and a kind.
func FuzzJsonnetObjects(f *testing.F) {
	f.Add([]byte(`[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}},[null,[{"apiVersion":"v1","kind":"List","items":[]}]]]`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"ConfigMapList","items":[{"apiVersion":"v1","kind":"Secret"}]}`))
	f.Add([]byte(`[[[[[[[[1]]]]]]]]`))
	f.Add([]byte(`"text"`))
	f.Add([]byte(`{"kind":"List","items":[{}]}`))
	f.Fuzz(func(t *testing.T, out []byte) {
		objs, err := jsonnetObjects("fuzz.jsonnet", out)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.jsonnet: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, o := range objs {
			if o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("accepted an object without apiVersion or kind: %v", o.Object)
			}
		}
	})
}

// FuzzJsonnetImport: an import path is the repository's to choose. Whatever
// it is, the importer hands back only files inside the root, never the
// one outside that a symlink or a path points to.
func FuzzJsonnetImport(f *testing.F) {
	outside := f.TempDir()
	secret := filepath.Join(outside, "secret.libsonnet")
	if err := os.WriteFile(secret, []byte("stolen"), 0o644); err != nil {
		f.Fatal(err)
	}
	root := f.TempDir()
	for name, content := range map[string]string{
		"app/x.jsonnet":            "{}",
		"app/params.libsonnet":     "{}",
		"vendor/k.libsonnet":       "{}",
		"app/deep/inner.libsonnet": "{}",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for link, target := range map[string]string{"app/out.libsonnet": secret, "app/outdir": outside, "app/in.libsonnet": "params.libsonnet", "app/up": ".."} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			f.Fatal(err)
		}
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"params.libsonnet", "../../etc/passwd", "/etc/passwd", secret, "out.libsonnet", "outdir/secret.libsonnet",
		"in.libsonnet", "up/vendor/k.libsonnet", "up/up/app/x.jsonnet", "deep/../../vendor/k.libsonnet", "k.libsonnet", real + "/app/x.jsonnet", "", ".", "/"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, importedPath string, fromCode bool) {
		im, err := newConfinedImporter(jsonnetJob{Root: real, Dir: "app", Jsonnet: Jsonnet{Libs: []string{"vendor"}}, MaxRead: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer im.close()
		from := "app/x.jsonnet"
		if fromCode {
			from = ""
		}
		contents, foundAt, err := im.Import(from, importedPath)
		if err != nil {
			return
		}
		if contents.String() == "stolen" {
			t.Fatalf("import %q read the file outside the root", importedPath)
		}
		resolved, err := filepath.EvalSymlinks(filepath.Join(real, filepath.FromSlash(foundAt)))
		if err != nil || !within(real, resolved) {
			t.Fatalf("import %q found at %q, which resolves to %q (%v), outside the root", importedPath, foundAt, resolved, err)
		}
	})
}

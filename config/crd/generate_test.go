// Package crd holds the CustomResourceDefinitions generated from api/ (in
// bases/) and the test that keeps them, and the deepcopy code, up to date.
package crd

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestGeneratedFilesAreFresh runs controller-gen on a copy of the module
// and fails when config/crd/bases or any zz_generated.deepcopy.go differs
// from what it produces: run `make generate` and commit the result.
func TestGeneratedFilesAreFresh(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(root, ".local", "bin", "controller-gen")
	if _, err := os.Stat(gen); err != nil {
		t.Fatalf("controller-gen not built (%v): run `make tools`", err)
	}
	work := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(work, f))
	}
	copyTree(t, filepath.Join(root, "api"), filepath.Join(work, "api"))
	run(t, work, gen, "object", "paths=./api/...")
	run(t, work, gen, "crd:generateEmbeddedObjectMeta=true", "paths=./api/...", "output:crd:dir=./config/crd/bases")

	compareTrees(t, filepath.Join(root, "config/crd/bases"), filepath.Join(work, "config/crd/bases"), func(string) bool { return true })
	compareTrees(t, filepath.Join(root, "api"), filepath.Join(work, "api"), func(p string) bool {
		return strings.HasSuffix(p, "zz_generated.deepcopy.go")
	})
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// compareTrees reports files selected by keep that differ, are missing or
// are extra in got compared with want.
func compareTrees(t *testing.T, committed, fresh string, keep func(string) bool) {
	t.Helper()
	a, b := readTree(t, committed, keep), readTree(t, fresh, keep)
	var names []string
	for n := range b {
		names = append(names, n)
	}
	for n := range a {
		if _, ok := b[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		old, inRepo := a[n]
		now, generated := b[n]
		switch {
		case !inRepo:
			t.Errorf("%s is not committed: run `make generate`", filepath.Join(committed, n))
		case !generated:
			t.Errorf("%s is no longer generated: run `make generate`", filepath.Join(committed, n))
		case !bytes.Equal(old, now):
			t.Errorf("%s is stale: run `make generate`", filepath.Join(committed, n))
		}
	}
	if len(b) == 0 {
		t.Errorf("controller-gen produced nothing under %s", fresh)
	}
}

func readTree(t *testing.T, dir string, keep func(string) bool) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !keep(rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		copyFile(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

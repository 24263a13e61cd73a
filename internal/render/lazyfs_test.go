package render

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// fullCopy is the tree copied whole, as every build did before lazyFS.
func fullCopy(t *testing.T, tr *tree) filesys.FileSystem {
	mem := filesys.MakeFsInMemory()
	for _, d := range append([]string{mountDir}, tr.dirs...) {
		if err := mem.MkdirAll(d); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range tr.files {
		if err := mem.WriteFile(f.path, f.data); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// A lazy copy answers every question as a full copy does, before and
// after the build writes and removes files.
func TestLazyFSAnswersAsAFullCopy(t *testing.T) {
	root := writeTree(t, map[string]string{
		"apps/a/kustomization.yaml": "resources: [cm.yaml, ../../base]\n",
		"apps/a/cm.yaml":            fmt.Sprintf(configMap, "a"),
		"apps/b/cm.yaml":            fmt.Sprintf(configMap, "b"),
		"base/kustomization.yaml":   "resources: [svc.yaml]\n",
		"base/svc.yaml":             "kind: Service\n",
		"base/deep/x/y.txt":         "y",
	})
	tr, err := readTree(context.Background(), root, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	full := fullCopy(t, tr)
	lazy, err := tr.fs()
	if err != nil {
		t.Fatal(err)
	}
	ask := func(fs filesys.FileSystem) string {
		var b strings.Builder
		for _, p := range []string{"", "/apps", "/apps/a", "/apps/a/cm.yaml", "/apps/a/new.yaml", "/base/deep", "/nope", "/base/deep/x/y.txt"} {
			p = mountDir + p
			names, err := fs.ReadDir(p)
			slices.Sort(names)
			data, rerr := fs.ReadFile(p)
			fmt.Fprintf(&b, "%s exists=%v dir=%v list=%v(%v) read=%q(%v)\n", p, fs.Exists(p), fs.IsDir(p), names, err != nil, data, rerr != nil)
		}
		matches, err := fs.Glob(mountDir + "/apps/*/cm.yaml")
		fmt.Fprintf(&b, "glob %v %v\n", matches, err)
		err = fs.Walk(mountDir+"/base", func(p string, info os.FileInfo, err error) error {
			fmt.Fprintf(&b, "walk %s %v\n", p, info.IsDir())
			return err
		})
		fmt.Fprintf(&b, "walk err %v\n", err)
		return b.String()
	}
	change := func(fs filesys.FileSystem) {
		for _, err := range []error{
			fs.WriteFile(mountDir+"/apps/a/new.yaml", []byte("new")),
			fs.WriteFile(mountDir+"/apps/a/cm.yaml", []byte("changed")),
			fs.RemoveAll(mountDir + "/base/deep"),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// A fresh lazy copy that is written to before anything is read.
	lazy2, _ := tr.fs()
	if got, want := ask(lazy), ask(full); got != want {
		t.Errorf("before changes:\nlazy:\n%s\nfull:\n%s", got, want)
	}
	change(full)
	change(lazy)
	change(lazy2)
	want := ask(full)
	if got := ask(lazy); got != want {
		t.Errorf("after changes:\nlazy:\n%s\nfull:\n%s", got, want)
	}
	if got := ask(lazy2); got != want {
		t.Errorf("written before read:\nlazy:\n%s\nfull:\n%s", got, want)
	}
}

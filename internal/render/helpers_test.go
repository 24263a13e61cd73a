package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// summary lists objects as "source Kind namespace/name".
func summary(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s %s %s/%s", o.Source, o.Obj.GetKind(), o.Obj.GetNamespace(), o.Obj.GetName()))
	}
	return out
}

// writeTree creates files (path -> content) under a new temporary folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// find returns the object of that kind and name, failing the test when absent.
func find(t *testing.T, objs []Object, kind, name string) Object {
	t.Helper()
	for _, o := range objs {
		if o.Obj.GetKind() == kind && o.Obj.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in %v", kind, name, summary(objs))
	return Object{}
}

func renderOnce(t *testing.T, root string, o Options) ([]Object, error) {
	t.Helper()
	return NewRenderer(0).Render(context.Background(), root, "test", o)
}

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  key: value
`

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

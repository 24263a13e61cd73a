package render

import (
	"context"
	"testing"
)

func configMapYAML(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  key: " + value + "\n"
}

// A new revision rebuilds only the apps whose inputs changed: a file the
// build read, a base it points to, a file a generated kustomization would
// list. A file no build reads changes nothing.
func TestRenderReusesBuildsWhoseInputsDidNotChange(t *testing.T) {
	ctx := context.Background()
	base := map[string]string{
		"base/kustomization.yaml":   "resources: [cm.yaml]\n",
		"base/cm.yaml":              configMapYAML("shared", "v1"),
		"apps/a/kustomization.yaml": "resources: [cm.yaml, ../../base]\n",
		"apps/a/cm.yaml":            configMapYAML("a", "v1"),
		"apps/b/cm.yaml":            configMapYAML("b", "v1"), // no kustomization: one is generated
		"apps/c/kustomization.yaml": "resources: [cm.yaml]\n",
		"apps/c/cm.yaml":            configMapYAML("c", "v1"),
	}
	revision := func(changes map[string]string) string {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		for k, v := range changes {
			files[k] = v
		}
		return writeTree(t, files)
	}
	r := NewRenderer(64)
	renderAll := func(root, key string) map[string]string {
		t.Helper()
		values := map[string]string{}
		for _, app := range []string{"a", "b", "c"} {
			objs, err := r.Render(ctx, root, key, Options{Path: "apps/" + app})
			if err != nil {
				t.Fatalf("%s at %s: %v", app, key, err)
			}
			for _, o := range objs {
				values[o.Obj.GetName()] = o.Obj.Object["data"].(map[string]any)["key"].(string)
			}
		}
		return values
	}
	steps := []struct {
		name    string
		changes map[string]string
		builds  int
		want    map[string]string
	}{
		{"first revision", nil, 3, map[string]string{"a": "v1", "b": "v1", "c": "v1", "shared": "v1"}},
		{"one app's file", map[string]string{"apps/c/cm.yaml": configMapYAML("c", "v2")}, 1, map[string]string{"c": "v2"}},
		{"a file nobody reads", map[string]string{"apps/a/notes.md": "hello", "apps/c/cm.yaml": configMapYAML("c", "v2")}, 0, nil},
		{"the shared base", map[string]string{"base/cm.yaml": configMapYAML("shared", "v2"), "apps/c/cm.yaml": configMapYAML("c", "v2")}, 1, map[string]string{"shared": "v2"}},
		{"a new file a generated kustomization lists", map[string]string{"apps/b/more.yaml": configMapYAML("b2", "v1"),
			"base/cm.yaml": configMapYAML("shared", "v2"), "apps/c/cm.yaml": configMapYAML("c", "v2")}, 1, map[string]string{"b2": "v1"}},
	}
	for i, step := range steps {
		before, _ := r.Stats()
		got := renderAll(revision(step.changes), "sha256:"+string(rune('a'+i)))
		after, _ := r.Stats()
		if after-before != step.builds {
			t.Errorf("%s: %d builds, want %d", step.name, after-before, step.builds)
		}
		for name, v := range step.want {
			if got[name] != v {
				t.Errorf("%s: ConfigMap %s = %q, want %q", step.name, name, got[name], v)
			}
		}
	}
}

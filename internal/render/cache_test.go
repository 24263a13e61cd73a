package render

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestRenderCache(t *testing.T) {
	ctx := context.Background()
	r := NewRenderer(8)
	opts := Options{Path: "deploy/webapp"}

	first, err := r.Render(ctx, "testdata/nested", "sha256:one", opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Render(ctx, "testdata/nested", "sha256:one", opts)
	if err != nil {
		t.Fatal(err)
	}
	if renders, hits := r.Stats(); renders != 1 || hits != 1 {
		t.Errorf("Stats() = %d renders, %d hits, want 1, 1", renders, hits)
	}
	if len(first) != len(second) || first[0].Obj == second[0].Obj {
		t.Errorf("second call should return an equal deep copy")
	}

	// The key, not the folder, identifies the content: another key is
	// looked at again, and here, every file the build read being the
	// same, the objects are reused without a build.
	if _, err := r.Render(ctx, "testdata/nested", "sha256:two", opts); err != nil {
		t.Fatal(err)
	}
	if r.Reused() != 1 {
		t.Errorf("Reused() = %d, want 1", r.Reused())
	}
	// So do other options.
	if _, err := r.Render(ctx, "testdata/nested", "sha256:one", Options{Path: "deploy/webapp", NamePrefix: "x-"}); err != nil {
		t.Fatal(err)
	}
	if renders, hits := r.Stats(); renders != 2 || hits != 1 {
		t.Errorf("Stats() = %d renders, %d hits, want 2, 1", renders, hits)
	}

	// Errors are not kept: each call renders again, so that a passing
	// failure cannot stick (see TestRenderRecoversFromPassingFailure).
	for range 2 {
		if _, err := r.Render(ctx, "testdata/invalid", "sha256:bad", Options{Path: "deploy/webapp"}); err == nil {
			t.Fatal("want an error")
		}
	}
	if renders, hits := r.Stats(); renders != 4 || hits != 1 {
		t.Errorf("Stats() = %d renders, %d hits, want 4, 1", renders, hits)
	}
}

// TestRenderRecoversFromPassingFailure renders a folder that is not there
// yet (an artifact still being unpacked), then once it is.
func TestRenderRecoversFromPassingFailure(t *testing.T) {
	ctx := context.Background()
	r := NewRenderer(8)
	root := filepath.Join(t.TempDir(), "artifact")
	opts := Options{Mode: ModeDirectory}
	if _, err := r.Render(ctx, root, "sha256:late", opts); err == nil {
		t.Fatal("rendering a missing folder succeeded")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := r.Render(ctx, root, "sha256:late", opts)
	if err != nil || len(objs) != 1 {
		t.Fatalf("after the folder appeared: %d objects, %v", len(objs), err)
	}
}

func TestRenderCacheEvicts(t *testing.T) {
	ctx := context.Background()
	r := NewRenderer(1)
	for _, key := range []string{"a", "b", "a"} {
		if _, err := r.Render(ctx, "testdata/plain", key, Options{Mode: ModeDirectory}); err != nil {
			t.Fatal(err)
		}
	}
	// An evicted key is looked at again (no hit); the same files are then
	// reused rather than parsed.
	if renders, hits := r.Stats(); renders+r.Reused() != 3 || hits != 0 {
		t.Errorf("Stats() = %d renders (+%d reused), %d hits, want 3, 0", renders, r.Reused(), hits)
	}
}

// Callers own what they get: changing it does not change the cache.
func TestRenderDeepCopy(t *testing.T) {
	ctx := context.Background()
	r := NewRenderer(8)
	opts := Options{Mode: ModeDirectory}
	objs, err := r.Render(ctx, "testdata/plain", "k", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.Obj.SetName("mutated")
		o.Obj.Object["spec"] = "mutated"
	}
	again, err := r.Render(ctx, "testdata/plain", "k", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range again {
		if o.Obj.GetName() == "mutated" || o.Obj.Object["spec"] == "mutated" {
			t.Fatalf("cached %s changed with the caller's copy", o.Source)
		}
	}
	if _, hits := r.Stats(); hits != 1 {
		t.Errorf("hits = %d, want 1", hits)
	}
}

// Concurrent calls for the same input share one render.
func TestRenderConcurrentCallsShareOneRender(t *testing.T) {
	r := NewRenderer(8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := r.Render(context.Background(), "testdata/nested", "k", Options{Path: "deploy/webapp"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if renders, _ := r.Stats(); renders != 1 {
		t.Errorf("renders = %d, want 1", renders)
	}
}

// Rendering never writes to the source, which may be a shared cache: the
// generated kustomization lives in memory only.
func TestRenderLeavesSourceUntouched(t *testing.T) {
	before := listTree(t, "testdata")
	for _, o := range []Options{{Path: "deploy/webapp"}, {Path: "deploy/webapp", NamePrefix: "x-"}} {
		if _, err := renderOnce(t, "testdata/nested", o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := renderOnce(t, "testdata/userkustomize", Options{Path: "app", NamePrefix: "x-"}); err != nil {
		t.Fatal(err)
	}
	if after := listTree(t, "testdata"); !slices.Equal(before, after) {
		t.Errorf("testdata changed:\n%v\n%v", before, after)
	}
}

func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d", p, info.ModTime(), info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDirectoryRenderReusedAcrossRevisions: a directory source whose files
// did not change in a new revision hands back the previous objects
// without parsing (an app's folder untouched by a push to another app's);
// a changed file is parsed again.
func TestDirectoryRenderReusedAcrossRevisions(t *testing.T) {
	ctx := context.Background()
	r := NewRenderer(8)
	root := t.TempDir()
	write := func(name, value string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
			t.Fatal(err)
		}
		doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {v: " + value + "}\n"
		if err := os.WriteFile(filepath.Join(root, "app", name+".yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "1")
	opts := Options{Mode: ModeDirectory, Path: "app"}
	if _, err := r.Render(ctx, root, "commit-1", opts); err != nil {
		t.Fatal(err)
	}
	// Another commit, same files here.
	objs, err := r.Render(ctx, root, "commit-2", opts)
	if err != nil || len(objs) != 1 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	if renders, _ := r.Stats(); renders != 1 || r.Reused() != 1 {
		t.Errorf("renders %d, reused %d; want 1, 1", renders, r.Reused())
	}
	// A changed file, then a new file: parsed again.
	write("a", "2")
	objs, err = r.Render(ctx, root, "commit-3", opts)
	if err != nil || objs[0].Obj.Object["data"].(map[string]any)["v"] != int64(2) && objs[0].Obj.Object["data"].(map[string]any)["v"] != "2" {
		t.Fatalf("changed file: %v, %v", objs, err)
	}
	write("b", "1")
	if objs, err = r.Render(ctx, root, "commit-4", opts); err != nil || len(objs) != 2 {
		t.Fatalf("new file: %d objects, %v", len(objs), err)
	}
	if renders, _ := r.Stats(); renders != 3 || r.Reused() != 1 {
		t.Errorf("renders %d, reused %d; want 3, 1", renders, r.Reused())
	}
}

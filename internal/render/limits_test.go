package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A huge folder of manifests is refused, not rendered (GHSA-jhqp-vf4w-rpwq).
func TestRenderBounds_GHSA_jhqp_vf4w_rpwq(t *testing.T) {
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("many/cm-%02d.yaml", i)] = fmt.Sprintf(configMap, fmt.Sprintf("cm-%02d", i))
	}
	files["list/list.yaml"] = "apiVersion: v1\nkind: List\nitems:\n" + strings.Repeat("  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n", 30)
	root := writeTree(t, files)

	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"objects, directory", Options{Path: "many", Mode: ModeDirectory, MaxObjects: 10}, ErrTooManyObjects},
		{"objects, kustomize", Options{Path: "many", MaxObjects: 10}, ErrTooManyObjects},
		{"objects in a list", Options{Path: "list", Mode: ModeDirectory, MaxObjects: 10}, ErrTooManyObjects},
		{"bytes, directory", Options{Path: "many", Mode: ModeDirectory, MaxBytes: 1000}, ErrTooLarge},
		{"bytes, kustomize", Options{Path: "many", MaxBytes: 1000}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderOnce(t, root, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
	// Within the bounds, the same folder renders.
	objs, err := renderOnce(t, root, Options{Path: "many", MaxObjects: 30})
	if err != nil || len(objs) != 30 {
		t.Fatalf("got %d objects, %v; want 30", len(objs), err)
	}
}

// A kustomization that takes too long is given up when the context ends
// (CVE-2022-24878): here each level includes the one below twice, so the
// output doubles with each level.
func TestRenderTimeout_CVE_2022_24878(t *testing.T) {
	const levels = 10
	root := doublingTree(t, levels)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewRenderer(0).Render(ctx, root, "k", Options{Path: fmt.Sprintf("l%d", levels), MaxObjects: 1 << 20})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("Render returned %v after the deadline", waited)
	}
	// The abandoned build stops at its next file access.
	for deadline := time.Now().Add(5 * time.Second); abandoned.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned build is still running")
		}
	}
	t.Logf("abandoned build stopped %v after the deadline", time.Since(start)-200*time.Millisecond)
}

// doublingTree is a kustomization of levels levels, each including the one
// below twice: the output doubles with each level (10 levels: about 4 s
// of work and 1024 objects).
func doublingTree(t *testing.T, levels int) string {
	files := map[string]string{"l0/cm.yaml": fmt.Sprintf(configMap, "cm"), "l0/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources: [cm.yaml]\n")}
	for i := 1; i <= levels; i++ {
		files[fmt.Sprintf("l%d/kustomization.yaml", i)] = fmt.Sprintf(kustomizationOf, "resources: [a, b]\n")
		for _, side := range []string{"a", "b"} {
			files[fmt.Sprintf("l%d/%s/kustomization.yaml", i, side)] = fmt.Sprintf(kustomizationOf, fmt.Sprintf("namePrefix: %s-\nresources: [../../l%d]\n", side, i-1))
		}
	}
	return writeTree(t, files)
}

// Renderer.Timeout bounds a build even when the caller would wait for
// ever (the production default has no caller deadline): the render fails
// with ErrTimeout, which is not a context error, so callers report it
// instead of rendering again at once.
func TestRendererTimeout(t *testing.T) {
	root := doublingTree(t, 10)
	r := NewRenderer(0)
	r.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := r.Render(context.Background(), root, "k", Options{Path: "l10", MaxObjects: 1 << 20})
	if !errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "l10") {
		t.Fatalf("error = %v, want ErrTimeout naming l10 (and no context error)", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("Render returned %v after it started", waited)
	}
	for deadline := time.Now().Add(5 * time.Second); abandoned.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned build is still running")
		}
	}
}

// The deadline runs from the start of a build, not while it waits for
// another one: a queue of tenants does not time out small builds.
func TestRendererTimeoutExcludesWaiting(t *testing.T) {
	if err := buildGate.acquire(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(300 * time.Millisecond); buildGate.release(true) }()
	r := NewRenderer(0)
	r.Timeout = 200 * time.Millisecond
	objs, err := r.Render(context.Background(), "testdata/nested", "k", Options{Path: "deploy/webapp"})
	if err != nil || len(objs) == 0 {
		t.Fatalf("a small build that waited 300 ms for its turn: %d objects, %v", len(objs), err)
	}
}

// Waiting for another build honours the context too.
func TestRenderWaitHonoursContext(t *testing.T) {
	if err := buildGate.acquire(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	defer buildGate.release(true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := NewRenderer(0).Render(ctx, "testdata/nested", "k", Options{Path: "deploy/webapp"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
}

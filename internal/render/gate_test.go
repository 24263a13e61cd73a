package render

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Builds run side by side: one that holds a turn does not hold up
// another. A source that sets kustomize's OpenAPI schema waits until it
// can run alone.
func TestBuildsRunSideBySide(t *testing.T) {
	if err := buildGate.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	held := true
	defer func() {
		if held {
			buildGate.release(false)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if objs, err := NewRenderer(0).Render(ctx, "testdata/nested", "k", Options{Path: "deploy/webapp"}); err != nil || len(objs) == 0 {
		t.Fatalf("a build beside another: %d objects, %v", len(objs), err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	if _, err := NewRenderer(0).Render(short, "testdata", "k", Options{Path: "openapi"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a schema-setting build beside another: %v, want it to wait (context.DeadlineExceeded)", err)
	}
	buildGate.release(false)
	held = false
	objs, err := NewRenderer(0).Render(ctx, "testdata", "k", Options{Path: "openapi"})
	if err != nil || len(objs) != 1 || objs[0].Obj.GetName() != "schema-set" {
		t.Fatalf("the schema-setting build alone: %v, %v", objs, err)
	}
}

// Many builds at once, some setting the schema, give what they give one
// at a time (run with -race to see kustomize's shared state).
func TestConcurrentBuilds(t *testing.T) {
	type job struct{ root, path string }
	jobs := []job{{"testdata/nested", "deploy/webapp"}, {"testdata", "openapi"}, {"testdata/userkustomize", "app"}}
	want := map[job]string{}
	for _, j := range jobs {
		objs, err := NewRenderer(0).Render(context.Background(), j.root, "k", Options{Path: j.path})
		if err != nil {
			t.Fatalf("%s/%s: %v", j.root, j.path, err)
		}
		want[j] = names(objs)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 48)
	for i := range 48 {
		j := jobs[i%len(jobs)]
		wg.Go(func() {
			objs, err := NewRenderer(0).Render(context.Background(), j.root, fmt.Sprint(i), Options{Path: j.path})
			switch {
			case err != nil:
				errs <- fmt.Errorf("%s/%s: %w", j.root, j.path, err)
			case names(objs) != want[j]:
				errs <- fmt.Errorf("%s/%s: %s, alone it gave %s", j.root, j.path, names(objs), want[j])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func names(objs []Object) string {
	out := ""
	for _, o := range objs {
		out += o.Obj.GetKind() + "/" + o.Obj.GetNamespace() + "/" + o.Obj.GetName() + " "
	}
	return out
}

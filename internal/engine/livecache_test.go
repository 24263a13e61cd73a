package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/livecache"
)

// startLiveCache runs a live cache of the test cluster that keeps objects
// with a Kustomization name label whole.
func startLiveCache(t *testing.T) *livecache.Cache {
	t.Helper()
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := livecache.New(env.Config, c.Scheme(), c.RESTMapper(), livecache.Options{
		Markers: []livecache.Marker{{Label: "kustomize.toolkit.fluxcd.io/name"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = lc.Start(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return lc
}

func configMap(ns, name, value string) *unstructured.Unstructured {
	u := typed("v1", "ConfigMap", ns, name)
	u.Object["data"] = map[string]any{"key": value}
	return u
}

// eventually retries check until it returns nil, for 10 s.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

// With a live cache, a compare of objects that changed neither in Git nor
// in the cluster sends no request at all; an object someone else changed,
// or whose desired form changed, is dry-run again, alone; an object the
// cluster has but Tether does not manage is read from the API server (so
// it is adopted, not reported missing), and one that is gone is known
// missing without a request.
func TestLiveCacheComparesFromMemory(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-livecache")
	lc := startLiveCache(t)
	eng, reqs := newEngine(t, env.Config, ownerNamed("live"), WithLiveCache(lc, "test"))
	lc.Ensure(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})

	inputs := func(values ...string) []Input {
		var in []Input
		for i, v := range values {
			in = append(in, Input{Obj: configMap(ns, fmt.Sprintf("cm-%d", i), v), Source: "cms.yaml"})
		}
		return in
	}
	if _, err := eng.Apply(ctx, inputs("a", "b", "c"), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}

	// What the apply wrote is remembered: once the cache has seen it, a
	// diff and a compare need neither a read nor a dry run.
	eventually(t, "an unchanged diff without requests", func() error {
		reqs.Reset()
		changes, err := eng.Diff(ctx, inputs("a", "b", "c"), ApplyOptions{})
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.Action != ActionUnchanged {
				return fmt.Errorf("%s %s", c.Subject, c.Action)
			}
		}
		if gets, dry := reqs.Counts(); gets+dry > 0 {
			return fmt.Errorf("%d GETs and %d dry runs", gets, dry)
		}
		return nil
	})
	reqs.Reset()
	cmps, err := eng.Compare(ctx, inputs("a", "b", "c"), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmps {
		if c.Action != ActionUnchanged || c.Live == nil || c.Predicted == nil || c.Live.Object["data"].(map[string]any)["key"] == nil {
			t.Errorf("compare from memory: %s %s, live %v, predicted %v", c.Subject, c.Action, c.Live != nil, c.Predicted != nil)
		}
	}
	if gets, dry := reqs.Counts(); gets+dry > 0 {
		t.Errorf("compare of unchanged objects: %d GETs and %d dry runs, want none", gets, dry)
	}

	// Someone else changes cm-0; Git changes cm-1.
	edited := configMap(ns, "cm-0", "edited")
	if err := admin(t).Get(ctx, client.ObjectKeyFromObject(edited), edited); err != nil {
		t.Fatal(err)
	}
	edited.Object["data"] = map[string]any{"key": "edited"}
	if err := admin(t).Update(ctx, edited); err != nil {
		t.Fatal(err)
	}
	eventually(t, "drift and a Git change, each dry-run once", func() error {
		reqs.Reset()
		changes, err := eng.Diff(ctx, inputs("a", "B", "c"), ApplyOptions{})
		if err != nil {
			return err
		}
		got := actions(changes)
		want := map[string]Action{
			"ConfigMap/" + ns + "/cm-0": ActionConfigured,
			"ConfigMap/" + ns + "/cm-1": ActionConfigured,
			"ConfigMap/" + ns + "/cm-2": ActionUnchanged,
		}
		for s, a := range want {
			if got[s] != a {
				return fmt.Errorf("%s: %s, want %s", s, got[s], a)
			}
		}
		if _, dry := reqs.Counts(); dry != 2 {
			return fmt.Errorf("%d dry runs, want 2", dry)
		}
		return nil
	})

	// An object nobody manages is read from the API server: adopting it
	// configures it rather than creating it.
	foreign := configMap(ns, "foreign", "theirs")
	if err := admin(t).Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	in := []Input{{Obj: configMap(ns, "foreign", "ours"), Source: "foreign.yaml"}}
	eventually(t, "an unmanaged object read from the API server", func() error {
		changes, err := eng.Diff(ctx, in, ApplyOptions{})
		if err != nil {
			return err
		}
		if changes[0].Action != ActionConfigured {
			return fmt.Errorf("foreign ConfigMap: %s, want configured", changes[0].Action)
		}
		return nil
	})

	// Deleted behind Tether's back: known missing from memory.
	if err := admin(t).Delete(ctx, configMap(ns, "cm-2", "")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted object missing without a read", func() error {
		reqs.Reset()
		changes, err := eng.Diff(ctx, []Input{{Obj: configMap(ns, "cm-2", "c"), Source: "cms.yaml"}}, ApplyOptions{})
		if err != nil {
			return err
		}
		if changes[0].Action != ActionCreated {
			return fmt.Errorf("cm-2: %s, want created", changes[0].Action)
		}
		if gets, _ := reqs.Counts(); gets > 0 {
			return fmt.Errorf("%d GETs, want none", gets)
		}
		return nil
	})
}

// An Argo CD sync: compare (objects missing) twice, apply trusting that
// compare, compare again: neither the second compare nor the one after
// the sync sends a dry run, and the apply writes each object once.
func TestLiveCacheCompareAfterSync(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-livecache-sync")
	lc := startLiveCache(t)
	lc.Ensure(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	owner := ownerNamed("sync")
	eng, reqs := newEngine(t, env.Config, owner, WithLiveCache(lc, "test"))
	in := []Input{{Obj: configMap(ns, "one", "1"), Source: "a.yaml"}, {Obj: configMap(ns, "two", "2"), Source: "a.yaml"}}
	mark := func(u *unstructured.Unstructured) {
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a["argocd.argoproj.io/tracking-id"] = "app:/ConfigMap:" + u.GetNamespace() + "/" + u.GetName()
		u.SetAnnotations(a)
	}
	cmps, err := eng.Compare(ctx, in, ApplyOptions{Mark: mark})
	if err != nil {
		t.Fatal(err)
	}
	// Compared again before the sync (an app waiting for an operation
	// processor): the objects are still missing, and the dry runs of a
	// moment ago still hold.
	reqs.Reset()
	cmps, err = eng.Compare(ctx, in, ApplyOptions{Mark: mark})
	if err != nil {
		t.Fatal(err)
	}
	if _, dry := reqs.Counts(); dry != 0 {
		t.Errorf("a second compare of missing objects sent %d dry runs, want 0", dry)
	}
	for _, c := range cmps {
		if c.Action != ActionCreated || c.Predicted == nil {
			t.Errorf("%s before the sync: %s, predicted %v", c.Subject, c.Action, c.Predicted != nil)
		}
	}
	var desired []Input
	for _, c := range cmps {
		desired = append(desired, Input{Obj: c.Desired.DeepCopy(), Source: c.Source})
	}
	reqs.Reset()
	if _, err := eng.Apply(ctx, desired, ApplyOptions{Mark: mark, Compared: cmps}); err != nil {
		t.Fatal(err)
	}
	if _, dry := reqs.Counts(); dry != 0 || len(reqs.Writes()) != 2 {
		t.Errorf("the sync sent %d dry runs and %d writes, want 0 and 2", dry, len(reqs.Writes()))
	}
	reqs.Reset()
	again, err := eng.Compare(ctx, in, ApplyOptions{Mark: mark})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again {
		if c.Action != ActionUnchanged {
			t.Errorf("%s after the sync: %s", c.Subject, c.Action)
		}
	}
	if _, dry := reqs.Counts(); dry != 0 {
		t.Errorf("the compare after the sync sent %d dry runs, want 0", dry)
	}
}

// A subscriber of the live cache's changes hears of a change made by
// someone else, after the cache holds it: a sync waiting for health reads
// memory again on the notice instead of polling the API server.
func TestLiveCacheChangeNotices(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-livecache-notices")
	lc := startLiveCache(t)
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	lc.Ensure(ctx, gvk)
	cm := configMap(ns, "watched", "a")
	cm.SetLabels(map[string]string{"kustomize.toolkit.fluxcd.io/name": "x"})
	if err := admin(t).Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	reader := lc.Reader(admin(t))
	read := func() string {
		got := typed("v1", "ConfigMap", ns, "watched")
		if err := reader.Get(ctx, client.ObjectKeyFromObject(got), got); err != nil {
			return err.Error()
		}
		v, _, _ := unstructured.NestedString(got.Object, "data", "key")
		return v
	}
	eventually(t, "created object in the cache", func() error {
		if v := read(); v != "a" {
			return fmt.Errorf("read %q", v)
		}
		return nil
	})
	notices, stop := lc.Changes()
	defer stop()
	for len(notices) > 0 { // the create's own notice
		<-notices
	}
	if err := unstructured.SetNestedField(cm.Object, "b", "data", "key"); err != nil {
		t.Fatal(err)
	}
	if err := admin(t).Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	// The cache watches every ConfigMap of the cluster, and other tests
	// change theirs meanwhile: a notice may stand for another object, so
	// read on each notice, as a subscriber does, until the update shows.
	deadline := time.After(10 * time.Second)
	for seen := ""; seen != "b"; {
		select {
		case <-notices:
			seen = read()
		case <-deadline:
			t.Fatalf("no notice after which the cache reads the update within 10s (last read %q)", seen)
		}
	}
	stop()
	for len(notices) > 0 { // sent before stop returned
		<-notices
	}
	if err := admin(t).Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if len(notices) != 0 {
		t.Error("a notice after stop")
	}
}

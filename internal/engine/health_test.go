package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestWaitHealthy(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-healthy")
	eng, _ := newEngine(t, env.Config, ownerNamed("healthy"))
	res, err := eng.Apply(ctx, load(t, "health/ready.yaml"), ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := eng.Wait(ctx, res.Inventory.Refs(), time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("healthy after %s", time.Since(start))
	dep := get(t, "apps/v1", "Deployment", ns, "podinfo")
	if n, _, _ := unstructured.NestedInt64(dep.Object, "status", "availableReplicas"); n != 2 {
		t.Errorf("healthy with %d available replicas, want 2", n)
	}
}

func TestWaitNamesUnhealthyObjects(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-unhealthy")
	eng, _ := newEngine(t, env.Config, ownerNamed("unhealthy"))
	res, err := eng.Apply(ctx, load(t, "health/ready.yaml", "health/stuck.yaml"), ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	// A health check of an object outside the set, as Flux's spec.healthChecks.
	refs := append(res.Inventory.Refs(), ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "missing"})

	start := time.Now()
	err = eng.Wait(ctx, refs, 5*time.Second)
	if err == nil {
		t.Fatal("wait succeeded")
	}
	t.Logf("error after %s: %v", time.Since(start), err)
	if time.Since(start) < 5*time.Second {
		t.Errorf("gave up after %s, before the timeout", time.Since(start))
	}
	mustContain(t, err.Error(),
		"2 of 3 objects not healthy after 5s",
		"Deployment/engine-unhealthy/stuck: InProgress: Available: 0/2",
		"ConfigMap/engine-unhealthy/missing: NotFound")
	if strings.Contains(err.Error(), "podinfo") {
		t.Errorf("error names the healthy Deployment: %v", err)
	}
}

func TestWaitStopsWithContext(t *testing.T) {
	needCluster(t)
	ns := namespace(t, "engine-wait-cancel")
	eng, _ := newEngine(t, env.Config, ownerNamed("cancel"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	err := eng.Wait(ctx, []ObjectRef{{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "never"}}, time.Minute)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("wait returned %v after %s", err, time.Since(start))
	}
}

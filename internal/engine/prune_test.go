package engine

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestPruneDeletesOnlyWhatIsGoneAndStillOurs(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-prune")
	eng, reqs := newEngine(t, env.Config, ownerNamed("prune"))
	res, err := eng.Apply(ctx, load(t, "prune/configmaps.yaml"), ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	old := res.Inventory
	// Someone else takes "adopted" over.
	adopt := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"kustomize.toolkit.fluxcd.io/name":"other"}}}`))
	if err := admin(t).Patch(ctx, typed("v1", "ConfigMap", ns, "adopted"), adopt); err != nil {
		t.Fatal(err)
	}
	keep := Inventory{{ID: ns + "_keep__ConfigMap", Version: "v1"}}
	argo := PruneOptions{Exclusions: map[string]string{"argocd.argoproj.io/sync-options": "Prune=false"}}

	reqs.Reset()
	changes, err := eng.Prune(ctx, old, keep, argo)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{
		"ConfigMap/engine-prune/stale":          ActionDeleted,
		"ConfigMap/engine-prune/protected":      ActionSkipped,
		"ConfigMap/engine-prune/argo-protected": ActionSkipped,
		"ConfigMap/engine-prune/adopted":        ActionSkipped,
	}
	if got := actions(changes); !reflect.DeepEqual(got, want) {
		t.Errorf("prune = %v, want %v", got, want)
	}
	if w := reqs.Writes(); len(w) != 1 {
		t.Errorf("prune wrote %v, want one DELETE", w)
	}
	for name, exists := range map[string]bool{"keep": true, "stale": false, "protected": true, "argo-protected": true, "adopted": true} {
		if got := get(t, "v1", "ConfigMap", ns, name) != nil; got != exists {
			t.Errorf("ConfigMap %s exists = %v, want %v", name, got, exists)
		}
	}

	// Pruning again finds nothing to do: deleted objects are not reported.
	changes, err = eng.Prune(ctx, old, keep, argo)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := actions(changes)["ConfigMap/engine-prune/stale"]; ok {
		t.Errorf("gone object reported: %v", changes)
	}

	reqs.Reset()
	_, err = eng.Prune(ctx, keep, nil, PruneOptions{})
	if !errors.Is(err, ErrPruneAll) {
		t.Fatalf("prune to an empty set: %v, want ErrPruneAll", err)
	}
	t.Logf("error: %v", err)
	if w := reqs.Writes(); len(w) != 0 || get(t, "v1", "ConfigMap", ns, "keep") == nil {
		t.Errorf("refused prune wrote %v", w)
	}
	changes, err = eng.Prune(ctx, keep, Inventory{}, PruneOptions{AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Action != ActionDeleted || get(t, "v1", "ConfigMap", ns, "keep") != nil {
		t.Errorf("prune with AllowEmpty: %v", changes)
	}
}

func TestPruneOrphanKeepsDependents(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-orphan")
	eng, _ := newEngine(t, env.Config, ownerNamed("orphan"))
	res, err := eng.Apply(ctx, load(t, "health/ready.yaml"), ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	var rs appsv1.ReplicaSetList
	deadline := time.Now().Add(30 * time.Second)
	for len(rs.Items) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if err := admin(t).List(ctx, &rs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	if len(rs.Items) == 0 {
		t.Fatal("no ReplicaSet for the Deployment")
	}

	if _, err := eng.Prune(ctx, res.Inventory, nil, PruneOptions{AllowEmpty: true, Propagation: metav1.DeletePropagationOrphan}); err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(deadline) && get(t, "apps/v1", "Deployment", ns, "podinfo") != nil {
		time.Sleep(200 * time.Millisecond)
	}
	if get(t, "apps/v1", "Deployment", ns, "podinfo") != nil {
		t.Fatal("Deployment not deleted")
	}
	if get(t, "apps/v1", "ReplicaSet", ns, rs.Items[0].Name) == nil {
		t.Error("orphaned ReplicaSet was deleted")
	}
	_ = admin(t).DeleteAllOf(context.Background(), &appsv1.ReplicaSet{}, client.InNamespace(ns))
}

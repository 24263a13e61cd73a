package kustomization

import (
	"strings"
	"testing"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/engine"
)

func TestPrunedOnlyWhenThePruneIsOn(t *testing.T) {
	ks := &kustomizev1.Kustomization{}
	ks.Status.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
		{ID: "apps_kept__ConfigMap", Version: "v1"},
		{ID: "apps_gone__ConfigMap", Version: "v1"},
		{ID: "_apps__Namespace", Version: "v1"},
	}}
	changes := []engine.Change{{ID: "apps_kept__ConfigMap", Version: "v1"}}
	if refs, err := Pruned(ks, changes); err != nil || len(refs) != 0 {
		t.Errorf("prune off: %v, %v", refs, err)
	}
	ks.Spec.Prune = true
	refs, err := Pruned(ks, changes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.String())
	}
	// Delete order: the namespaced object before its Namespace.
	if strings.Join(got, ",") != "ConfigMap/apps/gone,Namespace/apps" {
		t.Errorf("pruned = %v", got)
	}
}

package shard

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnerSpreadsAndMovesLittle(t *testing.T) {
	members := []string{"tether-0", "tether-1", "tether-2"}
	keys := make([]string, 3000)
	for i := range keys {
		keys[i] = fmt.Sprintf("Application/argocd/app-%04d", i)
	}
	count := map[string]int{}
	before := map[string]string{}
	for _, k := range keys {
		o := Owner(members, k, "")
		count[o]++
		before[k] = o
	}
	for _, m := range members {
		// An even share is 1000; rendezvous hashing keeps each within 10 %.
		if count[m] < 900 || count[m] > 1100 {
			t.Errorf("%s owns %d of 3000 keys: %v", m, count[m], count)
		}
	}
	// tether-1 dies: only its keys move, spread over the others.
	alive := []string{"tether-0", "tether-2"}
	moved := 0
	for _, k := range keys {
		o := Owner(alive, k, "")
		if before[k] != "tether-1" && o != before[k] {
			t.Fatalf("%s moved from %s to %s though its owner is alive", k, before[k], o)
		}
		if before[k] == "tether-1" {
			moved++
		}
	}
	if moved != count["tether-1"] {
		t.Errorf("%d keys moved, want the %d of the dead member", moved, count["tether-1"])
	}
	// A member joins: it takes about a quarter, from everyone.
	joined := append(members, "tether-3")
	took := 0
	for _, k := range keys {
		o := Owner(joined, k, "")
		if o != before[k] && o != "tether-3" {
			t.Fatalf("%s moved from %s to %s, not to the new member", k, before[k], o)
		}
		if o == "tether-3" {
			took++
		}
	}
	if took < 600 || took > 900 {
		t.Errorf("the new member took %d of 3000 keys, want about 750", took)
	}
}

func TestOwnerCases(t *testing.T) {
	tests := []struct {
		name      string
		members   []string
		key, algo string
		want      string
	}{
		{"no members, no owner", nil, "k", "", ""},
		{"one member owns all", []string{"a"}, "k", "", "a"},
		{"legacy is a hash modulo the count", []string{"a", "b"}, "k", "legacy", []string{"a", "b"}[hash32("k")%2]},
		{"the members' order does not matter", []string{"a", "b"}, "k", "consistent-hashing", Owner([]string{"b", "a"}, "k", "")},
	}
	for _, tt := range tests {
		if got := Owner(tt.members, tt.key, tt.algo); got != tt.want {
			t.Errorf("%s: Owner = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNilMembershipOwnsEverything(t *testing.T) {
	var m *Membership
	if !m.Owns("anything") {
		t.Error("a nil Membership (sharding off) must own every key")
	}
}

func TestKeyOfKeepsFluxShardsTogether(t *testing.T) {
	a, b := &metav1.PartialObjectMetadata{}, &metav1.PartialObjectMetadata{}
	a.Namespace, a.Name, b.Namespace, b.Name = "apps", "one", "infra", "two"
	if KeyOf("Kustomization", a) == KeyOf("Kustomization", b) {
		t.Fatal("two unlabelled objects share a key")
	}
	a.Labels = map[string]string{FluxKeyLabel: "shard1"}
	b.Labels = map[string]string{FluxKeyLabel: "shard1"}
	if KeyOf("Kustomization", a) != KeyOf("HelmRelease", b) {
		t.Error("objects with one sharding.fluxcd.io/key value have different keys")
	}
}

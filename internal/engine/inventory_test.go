package engine

import (
	"reflect"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestEntryParsing(t *testing.T) {
	tests := []struct {
		entry Entry
		meta  object.ObjMetadata
		ref   ObjectRef
		bad   bool
	}{
		{entry: Entry{ID: "apps_web_apps_Deployment", Version: "v1"},
			meta: object.ObjMetadata{Namespace: "apps", Name: "web", GroupKind: schema.GroupKind{Group: "apps", Kind: "Deployment"}},
			ref:  ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "apps", Name: "web"}},
		{entry: Entry{ID: "_apps__Namespace", Version: "v1"},
			meta: object.ObjMetadata{Name: "apps", GroupKind: schema.GroupKind{Kind: "Namespace"}},
			ref:  ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: "apps"}},
		{entry: Entry{ID: "_system__reader_rbac.authorization.k8s.io_ClusterRole", Version: "v1"},
			meta: object.ObjMetadata{Name: "system:reader", GroupKind: schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}},
			ref:  ObjectRef{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "system:reader"}},
		{entry: Entry{ID: "garbage"}, bad: true},
		{entry: Entry{ID: "a_b_c"}, bad: true},
		{entry: Entry{ID: "ns___ConfigMap"}, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.entry.ID, func(t *testing.T) {
			m, err := tc.entry.ObjMetadata()
			if tc.bad {
				if err == nil {
					t.Fatalf("parsed %q as %v", tc.entry.ID, m)
				}
				return
			}
			if err != nil || m != tc.meta {
				t.Fatalf("ObjMetadata = %v, %v; want %v", m, err, tc.meta)
			}
			if m.String() != tc.entry.ID {
				t.Errorf("round trip gives %q", m.String())
			}
			if r, err := tc.entry.Ref(); err != nil || r != tc.ref {
				t.Errorf("Ref = %v, %v; want %v", r, err, tc.ref)
			}
			gvk, _ := tc.entry.GroupVersionKind()
			if gvk.Version != tc.entry.Version || gvk.Kind != tc.meta.GroupKind.Kind {
				t.Errorf("GroupVersionKind = %v", gvk)
			}
		})
	}
}

func TestInventoryDiffDeletesInReverseApplyOrder(t *testing.T) {
	old := Inventory{
		{ID: "_apps__Namespace", Version: "v1"},
		{ID: "_widgets.engine.tether.dev_apiextensions.k8s.io_CustomResourceDefinition", Version: "v1"},
		{ID: "apps_web_apps_Deployment", Version: "v1"},
		{ID: "apps_cm__ConfigMap", Version: "v1"},
		{ID: "apps_w_engine.tether.dev_Widget", Version: "v1"},
		{ID: "apps_kept__ConfigMap", Version: "v1"},
	}
	// A new version of the same object does not make it stale.
	next := Inventory{{ID: "apps_kept__ConfigMap", Version: "v2"}}
	got, err := old.Diff(next)
	if err != nil {
		t.Fatal(err)
	}
	want := Inventory{
		{ID: "apps_w_engine.tether.dev_Widget", Version: "v1"},
		{ID: "apps_web_apps_Deployment", Version: "v1"},
		{ID: "apps_cm__ConfigMap", Version: "v1"},
		{ID: "_apps__Namespace", Version: "v1"},
		{ID: "_widgets.engine.tether.dev_apiextensions.k8s.io_CustomResourceDefinition", Version: "v1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff =\n%v\nwant\n%v", got, want)
	}
	if _, err := old.Diff(Inventory{{ID: "bad"}}); err == nil {
		t.Error("Diff accepted a bad entry")
	}
	if !old.Contains(object.ObjMetadata{Namespace: "apps", Name: "cm", GroupKind: schema.GroupKind{Kind: "ConfigMap"}}) {
		t.Error("Contains missed an entry")
	}
	if refs := append(old, Entry{ID: "bad"}).Refs(); len(refs) != len(old) {
		t.Errorf("Refs = %v", refs)
	}
	if err := append(old, Entry{ID: "bad"}).Validate(); err == nil {
		t.Error("Validate accepted a bad entry")
	}
}

func TestInventoryOf(t *testing.T) {
	objs := []*unstructured.Unstructured{
		typed("apps/v1", "Deployment", "apps", "web"),
		typed("v1", "Namespace", "", "apps"),
		typed("apps/v1", "Deployment", "apps", "web"),
	}
	want := Inventory{{ID: "_apps__Namespace", Version: "v1"}, {ID: "apps_web_apps_Deployment", Version: "v1"}}
	if got := InventoryOf(objs); !reflect.DeepEqual(got, want) {
		t.Errorf("InventoryOf = %v, want %v", got, want)
	}
}

// TestIDIsTheEntryID: ID, the id every dialect builds for status and
// comparisons, is exactly EntryOf's, colons in RBAC names included (an
// Application once built "_system:reader_..." by hand and never found its
// own ClusterRole in the engine's results).
func TestIDIsTheEntryID(t *testing.T) {
	for _, tc := range []struct{ apiVersion, kind, namespace, name, want string }{
		{"v1", "ConfigMap", "apps", "settings", "apps_settings__ConfigMap"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", "", "system:reader", "_system__reader_rbac.authorization.k8s.io_ClusterRole"},
		{"rbac.authorization.k8s.io/v1", "RoleBinding", "apps", "system:a:b", "apps_system__a__b_rbac.authorization.k8s.io_RoleBinding"},
	} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(tc.apiVersion)
		u.SetKind(tc.kind)
		u.SetNamespace(tc.namespace)
		u.SetName(tc.name)
		id := ID(u.GroupVersionKind().GroupKind(), tc.namespace, tc.name)
		if id != tc.want || EntryOf(u).ID != id {
			t.Errorf("%s %s: ID %q, EntryOf %q, want %q", tc.kind, tc.name, id, EntryOf(u).ID, tc.want)
		}
		if m, err := (Entry{ID: id, Version: "v1"}).ObjMetadata(); err != nil || m.Name != tc.name {
			t.Errorf("%q does not parse back to name %q: %v, %v", id, tc.name, m, err)
		}
	}
}

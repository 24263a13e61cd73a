package engine

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// FuzzInventoryEntry: inventory entries are read back from status, which
// anyone allowed to write it may change. Parsing never panics, and an
// entry made by ID from valid Kubernetes names parses back to them.
func FuzzInventoryEntry(f *testing.F) {
	f.Add("default_web_apps_Deployment", "v1", "apps", "Deployment", "default", "web")
	f.Add("_ns__Namespace", "v1", "", "Namespace", "", "ns")
	f.Add("___", "", "", "", "", "")
	f.Add("a_b_c", "v1", "x.dev", "Widget", "a", "b")
	f.Fuzz(func(t *testing.T, id, version, group, kind, namespace, name string) {
		e := Entry{ID: id, Version: version}
		_, _ = e.ObjMetadata()
		_, _ = e.GroupVersionKind()
		_, _ = e.Ref()
		_ = Inventory{e}.Validate()

		if !dnsName(namespace, true) || !dnsName(name, false) || !dnsName(group, true) || kind == "" || !alnum(kind) {
			return
		}
		made := Entry{ID: ID(schema.GroupKind{Group: group, Kind: kind}, namespace, name), Version: "v1"}
		m, err := made.ObjMetadata()
		if err != nil {
			t.Fatalf("%q: %v", made.ID, err)
		}
		if m.Name != name || m.Namespace != namespace || m.GroupKind.Group != group || m.GroupKind.Kind != kind {
			t.Fatalf("%q parsed as %+v", made.ID, m)
		}
	})
}

// dnsName: lower-case letters, digits, '-' and '.', not empty unless
// empty is allowed, starting and ending with a letter or digit.
func dnsName(s string, empty bool) bool {
	if s == "" {
		return empty
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '.') && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

package restmapping

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts the calls that reach the wrapped mapper.
type countingMapper struct {
	meta.RESTMapper
	calls int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.calls++
	return c.RESTMapper.RESTMapping(gk, versions...)
}

func TestMemoRemembersForTTL(t *testing.T) {
	secret := schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	base := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Version: "v1"}})
	base.Add(secret, meta.RESTScopeNamespace)
	inner := &countingMapper{RESTMapper: base}
	now := time.Unix(1000, 0)
	m := NewMemo(inner, 30*time.Second)
	m.now = func() time.Time { return now }

	for range 3 {
		mapping, err := m.RESTMapping(secret.GroupKind(), "v1")
		if err != nil || mapping.Scope.Name() != meta.RESTScopeNameNamespace || mapping.Resource.Resource != "secrets" {
			t.Fatalf("mapping %+v, %v", mapping, err)
		}
		mapping.Resource.Resource = "changed by a caller"
	}
	if inner.calls != 1 {
		t.Errorf("3 calls reached the mapper %d times, want 1", inner.calls)
	}
	now = now.Add(31 * time.Second)
	if _, err := m.RESTMapping(secret.GroupKind(), "v1"); err != nil || inner.calls != 2 {
		t.Errorf("after the ttl: %d calls, %v", inner.calls, err)
	}
	if _, err := m.RESTMapping(secret.GroupKind()); err != nil || inner.calls != 3 {
		t.Errorf("no version: %d calls (never remembered), %v", inner.calls, err)
	}
	missing := schema.GroupKind{Group: "example.com", Kind: "Gone"}
	for range 2 {
		if _, err := m.RESTMapping(missing, "v1"); !meta.IsNoMatchError(err) {
			t.Errorf("an unknown kind: %v", err)
		}
	}
	if inner.calls != 5 {
		t.Errorf("an error was remembered: %d calls", inner.calls)
	}
}

// Package restmapping remembers REST mappings. controller-runtime's
// dynamic mapper answers every RESTMapping call by asking one mapper per
// API group in turn, and each group that does not serve the kind
// allocates an error: with a few dozen groups, every cached Get or List
// (which asks whether the kind is namespaced) allocated about a kilobyte
// and showed as a tenth of Tether's idle CPU at 5,000 Applications.
package restmapping

import (
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// DefaultTTL is how long a mapping is remembered.
const DefaultTTL = 30 * time.Second

// NewDynamic is controller-runtime's dynamic mapper for cfg, remembered
// for DefaultTTL; its signature is a manager's MapperProvider.
func NewDynamic(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return NewMemo(m, DefaultTTL), nil
}

// Memo is a RESTMapper that remembers, for ttl, the mapping of each fully
// versioned kind it was asked for; everything else goes to the wrapped
// mapper. A kind whose CRD is removed is noticed within ttl.
type Memo struct {
	meta.RESTMapper
	ttl time.Duration
	now func() time.Time

	mu       sync.RWMutex
	mappings map[schema.GroupVersionKind]memoEntry
}

type memoEntry struct {
	mapping meta.RESTMapping
	at      time.Time
}

// maxEntries bounds the memo: kinds are few, but a caller could ask for
// any.
const maxEntries = 4096

// NewMemo wraps m.
func NewMemo(m meta.RESTMapper, ttl time.Duration) *Memo {
	return &Memo{RESTMapper: m, ttl: ttl, now: time.Now, mappings: map[schema.GroupVersionKind]memoEntry{}}
}

// RESTMapping answers from the memo when one version is asked for and its
// mapping is younger than the ttl. The mapping returned is the caller's
// own copy.
func (m *Memo) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	if len(versions) != 1 || versions[0] == "" {
		return m.RESTMapper.RESTMapping(gk, versions...)
	}
	gvk := gk.WithVersion(versions[0])
	now := m.now()
	m.mu.RLock()
	e, ok := m.mappings[gvk]
	m.mu.RUnlock()
	if ok && now.Sub(e.at) < m.ttl {
		mapping := e.mapping
		return &mapping, nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		m.mu.Lock()
		delete(m.mappings, gvk)
		m.mu.Unlock()
		return nil, err
	}
	m.mu.Lock()
	if len(m.mappings) >= maxEntries {
		clear(m.mappings)
	}
	m.mappings[gvk] = memoEntry{mapping: *mapping, at: now}
	m.mu.Unlock()
	return mapping, nil
}

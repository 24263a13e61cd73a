package cluster

import (
	"strings"
	"sync"
)

// Versioned keeps one value (a client, a cache of watches) per name of a
// cluster credential, made for one version of it. A new version of the
// credential replaces the value made for the old one, and Retain drops the
// values of credentials that are gone, so that a rotated token or a
// removed cluster does not leave clients, connections and watches behind.
// It is safe for concurrent use.
type Versioned[V any] struct {
	// Close, when set, releases a value that was replaced or dropped
	// (closes its connections, stops its watches). It is called without
	// the lock held.
	Close func(V)

	mu      sync.Mutex
	entries map[string]versionedEntry[V]
}

type versionedEntry[V any] struct {
	version string
	value   V
}

// Get returns the value for name at version, calling make the first time
// and whenever version differs from the one the kept value was made for
// (the old value is then closed). make runs under the lock: two callers
// never make the same value twice.
func (c *Versioned[V]) Get(name, version string, make func() (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[name]
	if ok && e.version == version {
		c.mu.Unlock()
		return e.value, nil
	}
	v, err := make()
	if err != nil {
		c.mu.Unlock()
		var zero V
		return zero, err
	}
	if c.entries == nil {
		c.entries = map[string]versionedEntry[V]{}
	}
	c.entries[name] = versionedEntry[V]{version: version, value: v}
	c.mu.Unlock()
	if ok && c.Close != nil {
		c.Close(e.value)
	}
	return v, nil
}

// Retain drops (and closes) the values whose name keep refuses.
func (c *Versioned[V]) Retain(keep func(name string) bool) {
	c.mu.Lock()
	var dropped []V
	for name, e := range c.entries {
		if !keep(name) {
			dropped = append(dropped, e.value)
			delete(c.entries, name)
		}
	}
	c.mu.Unlock()
	if c.Close != nil {
		for _, v := range dropped {
			c.Close(v)
		}
	}
}

// Len is the number of values kept.
func (c *Versioned[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// SplitID splits a credential identity made by FromSecret (Cluster.ID) or
// KubeconfigFromSecret, "namespace/name@digest", into the Secret's name
// and the version of its content.
func SplitID(id string) (name, version string) {
	i := strings.LastIndexByte(id, '@')
	if i < 0 {
		return id, ""
	}
	return id[:i], id[i+1:]
}

// WithoutSecret is a Retain filter that drops the values made from the
// Secret namespace/name, named prefix+"namespace/name", alone or followed
// by "|" and more (an identity on that cluster).
func WithoutSecret(prefix, namespace, name string) func(string) bool {
	secret := prefix + namespace + "/" + name
	return func(n string) bool { return n != secret && !strings.HasPrefix(n, secret+"|") }
}

// Package image reconciles Flux's ImageRepository (scan a repository's
// tags) and ImagePolicy (choose the latest by a policy). Tags live in
// memory, not in etcd: status shows their count and the ten newest, and a
// restarted process scans again before its policies choose.
package image

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// maxTags bounds the tags kept per repository; a registry listing more
// keeps the newest by name (status says how many there were).
const maxTags = 50_000

// scan is what the last scan of one repository found.
type scan struct {
	canonical string
	tags      []string
}

// Tags holds the scanned tags of every ImageRepository. It is safe for
// concurrent use.
type Tags struct {
	mu    sync.RWMutex
	scans map[types.NamespacedName]scan
}

// NewTags returns an empty store.
func NewTags() *Tags { return &Tags{scans: map[types.NamespacedName]scan{}} }

// set records a scan.
func (t *Tags) set(key types.NamespacedName, canonical string, tags []string) {
	tags = slices.Clone(tags)
	if len(tags) > maxTags {
		slices.Sort(tags)
		tags = tags[len(tags)-maxTags:]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scans[key] = scan{canonical: canonical, tags: tags}
}

// get returns the canonical name and tags of a repository; false when it
// was not scanned since the process started.
func (t *Tags) get(key types.NamespacedName) (string, []string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.scans[key]
	return s.canonical, s.tags, ok
}

// forget drops a deleted repository's tags.
func (t *Tags) forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.scans, key)
}

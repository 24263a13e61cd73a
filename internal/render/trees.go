package render

import (
	"context"
	"path"
	"strconv"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// A Renderer keeps at most DefaultTreeCacheSize loaded sources, of at most
// DefaultTreeCacheBytes of files in all; a larger source is read for each
// build.
const (
	DefaultTreeCacheSize  = 8
	DefaultTreeCacheBytes = 256 << 20
)

// tree is the files of one source as read from disk: Kustomize builds run
// on an in-memory copy of it (see loadSource).
type tree struct {
	dirs  []string
	files []treeFile
	bytes int64

	indexOnce sync.Once
	idx       *treeIndex // see index

	schemaOnce   sync.Once
	customSchema bool // see setsSchema
}

type treeFile struct {
	path string
	data []byte
}

// fs makes a fresh in-memory file system of t under mountDir that copies
// files in as the build looks at them (lazyFS): each build writes its own
// kustomization overlays into its own copy.
func (t *tree) fs() (filesys.FileSystem, error) {
	return newLazyFS(t)
}

// treeCache keeps the trees of the sources loaded last, by content key, so
// that the many Kustomizations (or apps) of one artifact read its files
// from disk once, not once each: profiled at 1,000 Kustomizations of one
// repository, reading every file of the artifact for every build was 80 %
// of Tether's CPU, most of it in system calls. Concurrent loads of one
// key share one read. It is safe for concurrent use.
type treeCache struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64 // of the trees read and kept
	entries  map[string]*treeEntry
	order    []string // least recently used first
}

type treeEntry struct {
	done    chan struct{}
	tree    *tree
	err     error
	counted bool // its bytes are in treeCache.bytes
}

func newTreeCache(size int, maxBytes int64) *treeCache {
	return &treeCache{max: size, maxBytes: maxBytes, entries: map[string]*treeEntry{}}
}

// load returns the tree of the source at root whose content key is key,
// reading it (bounded by maxBytes) unless a recent call did. An empty key
// or a cache of size 0 reads every time. Failed reads are not kept.
func (c *treeCache) load(ctx context.Context, root, key string, maxBytes int64) (*tree, error) {
	if c == nil || c.max <= 0 || key == "" {
		return readTree(ctx, root, maxBytes)
	}
	k := key + "\x00" + root + "\x00" + strconv.FormatInt(maxBytes, 10)
	c.mu.Lock()
	e, ok := c.entries[k]
	if !ok {
		e = &treeEntry{done: make(chan struct{})}
		c.entries[k] = e
		c.order = append(c.order, k)
		c.evict()
		c.mu.Unlock()
		// Read on a context of its own: a caller giving up must not fail
		// the others waiting for the same tree.
		e.tree, e.err = readTree(context.WithoutCancel(ctx), root, maxBytes)
		close(e.done)
		if e.err != nil || e.tree.bytes > c.maxBytes {
			c.forget(k, e)
		} else {
			c.mu.Lock()
			if c.entries[k] == e {
				c.bytes += e.tree.bytes
				e.counted = true
				c.evict()
			}
			c.mu.Unlock()
		}
	} else {
		c.touch(k)
		c.mu.Unlock()
	}
	select {
	case <-e.done:
		return e.tree, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// evict drops the least recently used trees while there are too many or
// they hold too many bytes; the caller holds c.mu.
func (c *treeCache) evict() {
	for len(c.order) > 0 && (len(c.order) > c.max || c.bytes > c.maxBytes) {
		c.drop(0)
	}
}

// drop removes the i-th entry of c.order; the caller holds c.mu.
func (c *treeCache) drop(i int) {
	k := c.order[i]
	if e := c.entries[k]; e != nil && e.counted {
		c.bytes -= e.tree.bytes
	}
	delete(c.entries, k)
	c.order = append(c.order[:i:i], c.order[i+1:]...)
}

// touch marks k as used last; the caller holds c.mu.
func (c *treeCache) touch(k string) {
	for i, o := range c.order {
		if o == k {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), k)
			return
		}
	}
}

func (c *treeCache) forget(k string, e *treeEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[k] != e {
		return
	}
	for i, o := range c.order {
		if o == k {
			c.drop(i)
			return
		}
	}
}

// readTree reads the regular files of the source at root (symlinks inside
// the root become copies of their targets), at most maxBytes in all.
func readTree(ctx context.Context, root string, maxBytes int64) (*tree, error) {
	src, err := openSource(root, maxBytes)
	if err != nil {
		return nil, err
	}
	t := &tree{}
	err = src.walk(ctx, src.root, ".", walkOptions{recurse: true}, func(rel string, isDir bool, data []byte) error {
		p := path.Join(mountDir, rel)
		if isDir {
			t.dirs = append(t.dirs, p)
		} else {
			t.files = append(t.files, treeFile{path: p, data: data})
			t.bytes += int64(len(data))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

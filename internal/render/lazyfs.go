package render

import (
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// lazyFS is a build's own in-memory copy of a tree that copies a file or
// folder in from the tree only when the build first looks at it. A build
// of one app of a 1,000-app repository reads a dozen files; copying all
// of them for every build made the copies cost more than the builds.
// Writes (the kustomization a build generates) stay in the copy.
type lazyFS struct {
	mem filesys.FileSystem
	ix  *treeIndex

	mu      sync.Mutex
	loaded  map[string]bool // paths copied in, or written, or removed
	removed []string        // removed paths: nothing below them is copied in
}

func newLazyFS(t *tree) (*lazyFS, error) {
	mem := filesys.MakeFsInMemory()
	if err := mem.MkdirAll(mountDir); err != nil {
		return nil, err
	}
	return &lazyFS{mem: mem, ix: t.index(), loaded: map[string]bool{mountDir: true}}, nil
}

// load copies p (a file, or a folder without its contents) in, once.
// The caller holds f.mu.
func (f *lazyFS) load(p string) {
	p = path.Clean(p)
	if f.loaded[p] || f.isRemoved(p) {
		return
	}
	f.loaded[p] = true
	if data, ok := f.ix.files[p]; ok {
		_ = f.mem.MkdirAll(path.Dir(p))
		_ = f.mem.WriteFile(p, data)
		return
	}
	if _, ok := f.ix.children[p]; ok {
		_ = f.mem.MkdirAll(p)
	}
}

// ensure copies p in, like load, for a caller that does not hold f.mu.
func (f *lazyFS) ensure(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load(p)
}

// loadChildren copies in p and what it holds, one level or (deep) all.
func (f *lazyFS) loadChildren(p string, deep bool) {
	p = path.Clean(p)
	f.load(p)
	key := p + "\x00children"
	if deep {
		key = p + "\x00tree"
	}
	if f.loaded[key] {
		return
	}
	f.loaded[key] = true
	for _, name := range f.ix.children[p] {
		c := path.Join(p, name)
		if deep {
			f.loadChildren(c, true)
		} else {
			f.load(c)
		}
	}
}

func (f *lazyFS) isRemoved(p string) bool {
	for _, r := range f.removed {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// written marks p as the copy's own: the tree no longer speaks for it.
func (f *lazyFS) written(p string) {
	p = path.Clean(p)
	for d := p; ; d = path.Dir(d) {
		f.load(d) // its folders, so that a later listing finds its siblings
		if d == "/" || d == "." || d == mountDir {
			break
		}
	}
	f.loaded[p] = true
}

func (f *lazyFS) Create(p string) (filesys.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written(p)
	return f.mem.Create(p)
}

func (f *lazyFS) Mkdir(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load(path.Dir(p))
	f.load(p)
	return f.mem.Mkdir(p)
}

func (f *lazyFS) MkdirAll(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load(p)
	return f.mem.MkdirAll(p)
}

func (f *lazyFS) RemoveAll(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load(p)
	f.removed = append(f.removed, path.Clean(p))
	return f.mem.RemoveAll(p)
}

func (f *lazyFS) Open(p string) (filesys.File, error) {
	f.ensure(p)
	return f.mem.Open(p)
}

func (f *lazyFS) IsDir(p string) bool {
	f.ensure(p)
	return f.mem.IsDir(p)
}

func (f *lazyFS) ReadDir(p string) ([]string, error) {
	f.mu.Lock()
	f.loadChildren(p, false)
	f.mu.Unlock()
	names, err := f.mem.ReadDir(p)
	slices.Sort(names) // as a copy made in the tree's order lists them
	return names, err
}

func (f *lazyFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	f.mu.Lock()
	f.load(p)
	f.load(path.Dir(p))
	f.mu.Unlock()
	return f.mem.CleanedAbs(p)
}

func (f *lazyFS) Exists(p string) bool {
	f.ensure(p)
	return f.mem.Exists(p)
}

// Glob copies in everything below the pattern's fixed leading folders.
func (f *lazyFS) Glob(pattern string) ([]string, error) {
	dir := pattern
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		dir = path.Dir(pattern[:i+1])
	}
	f.mu.Lock()
	f.loadChildren(dir, true)
	f.mu.Unlock()
	return f.mem.Glob(pattern)
}

func (f *lazyFS) ReadFile(p string) ([]byte, error) {
	f.ensure(p)
	return f.mem.ReadFile(p)
}

func (f *lazyFS) WriteFile(p string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written(p)
	return f.mem.WriteFile(p, data)
}

func (f *lazyFS) Walk(p string, fn filepath.WalkFunc) error {
	f.mu.Lock()
	f.loadChildren(p, true)
	f.mu.Unlock()
	return f.mem.Walk(p, fn)
}

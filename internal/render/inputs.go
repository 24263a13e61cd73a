package render

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// A Kustomize build reads a few files of a source: its kustomization, the
// resources and patches that names, the bases it points to. When a new
// revision of the source leaves every one of them as it was, the build
// would produce the same objects, so the Renderer hands back the last
// result instead of building again: a commit that changes one app's
// folder of a repository of a thousand apps builds that app alone.
//
// The recorder below sits between Kustomize (and Tether's own checks and
// generated kustomization) and the in-memory source, and notes every
// question asked of it: which file was read, which folder listed, which
// path tested for existence, which pattern globbed, which folder walked.
// The answers to those questions, asked again of the new revision's tree,
// decide whether the build can be skipped.

// access is one question asked of the source.
type access struct {
	op   accessOp
	path string // cleaned, absolute under mountDir; a pattern for opGlob
}

type accessOp byte

const (
	opRead accessOp = 'r' // a file's content
	opStat accessOp = 's' // whether a path is a file, a folder or absent
	opList accessOp = 'l' // the names in a folder
	opWalk accessOp = 'w' // every path and file content below a folder
	opGlob accessOp = 'g' // the paths a pattern matches
)

// recorder is a filesys.FileSystem that notes the questions asked of fs.
type recorder struct {
	filesys.FileSystem

	mu       sync.Mutex
	accesses map[access]bool
}

func newRecorder(fs filesys.FileSystem) *recorder {
	return &recorder{FileSystem: fs, accesses: map[access]bool{}}
}

func (r *recorder) note(op accessOp, p string) {
	if op != opGlob {
		p = absPath(p)
	}
	r.mu.Lock()
	r.accesses[access{op: op, path: p}] = true
	r.mu.Unlock()
}

func absPath(p string) string {
	if !filepath.IsAbs(p) {
		return filepath.Clean("/" + p)
	}
	return filepath.Clean(p)
}

func (r *recorder) Open(p string) (filesys.File, error) {
	r.note(opRead, p)
	return r.FileSystem.Open(p)
}

func (r *recorder) IsDir(p string) bool {
	r.note(opStat, p)
	return r.FileSystem.IsDir(p)
}

func (r *recorder) Exists(p string) bool {
	r.note(opStat, p)
	return r.FileSystem.Exists(p)
}

func (r *recorder) ReadDir(p string) ([]string, error) {
	r.note(opList, p)
	return r.FileSystem.ReadDir(p)
}

func (r *recorder) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	r.note(opStat, p)
	return r.FileSystem.CleanedAbs(p)
}

func (r *recorder) Glob(pattern string) ([]string, error) {
	r.note(opGlob, pattern)
	return r.FileSystem.Glob(pattern)
}

func (r *recorder) ReadFile(p string) ([]byte, error) {
	r.note(opRead, p)
	return r.FileSystem.ReadFile(p)
}

func (r *recorder) Walk(p string, fn filepath.WalkFunc) error {
	r.note(opWalk, p)
	return r.FileSystem.Walk(p, fn)
}

// recording returns the questions asked so far, in a stable order, or
// false when one cannot be answered from a tree (a path outside the
// source, which only remote bases reach).
func (r *recorder) recording() ([]access, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]access, 0, len(r.accesses))
	for a := range r.accesses {
		if a.op != opGlob && !within(mountDir, a.path) {
			return nil, false
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].op < out[j].op
	})
	return out, true
}

// treeIndex answers questions about a tree.
type treeIndex struct {
	files    map[string][]byte
	children map[string][]string // folder -> sorted names
	paths    []string            // every file and folder, sorted
}

// index returns t's index, built once.
func (t *tree) index() *treeIndex {
	t.indexOnce.Do(func() {
		ix := &treeIndex{files: map[string][]byte{}, children: map[string][]string{mountDir: nil}}
		for _, d := range t.dirs {
			ix.children[d] = ix.children[d]
		}
		for _, f := range t.files {
			ix.files[f.path] = f.data
		}
		for p := range ix.children {
			ix.paths = append(ix.paths, p)
		}
		for p := range ix.files {
			ix.paths = append(ix.paths, p)
		}
		sort.Strings(ix.paths)
		for _, p := range ix.paths {
			if p == mountDir {
				continue
			}
			parent := path.Dir(p)
			ix.children[parent] = append(ix.children[parent], path.Base(p))
		}
		for d := range ix.children {
			slices.Sort(ix.children[d])
		}
		t.idx = ix
	})
	return t.idx
}

// answers digests what t answers to every question of rec: equal digests
// mean a build asking those questions would find the same files.
func (t *tree) answers(rec []access) string {
	ix := t.index()
	h := sha256.New()
	for _, a := range rec {
		h.Write([]byte{byte(a.op)})
		h.Write([]byte(a.path))
		h.Write([]byte{0})
		switch a.op {
		case opRead, opStat:
			ix.state(h, a.path, a.op == opRead)
		case opList:
			if names, ok := ix.children[a.path]; ok {
				h.Write([]byte(strings.Join(names, "/")))
			} else {
				ix.state(h, a.path, false)
			}
		case opWalk:
			prefix := strings.TrimSuffix(a.path, "/") + "/"
			ix.state(h, a.path, true)
			start := sort.SearchStrings(ix.paths, prefix)
			for _, p := range ix.paths[start:] {
				if !strings.HasPrefix(p, prefix) {
					break
				}
				h.Write([]byte(p))
				ix.state(h, p, true)
			}
		case opGlob:
			for _, p := range ix.paths {
				if ok, _ := filepath.Match(a.path, p); ok {
					h.Write([]byte(p))
					h.Write([]byte{0})
				}
			}
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// state writes whether p is a file (with its content when content is
// set), a folder or absent.
func (ix *treeIndex) state(h interface{ Write([]byte) (int, error) }, p string, content bool) {
	if data, ok := ix.files[p]; ok {
		h.Write([]byte("file:"))
		if content {
			sum := sha256.Sum256(data)
			h.Write(sum[:])
		}
		return
	}
	if _, ok := ix.children[p]; ok {
		h.Write([]byte("dir"))
		return
	}
	h.Write([]byte("absent"))
}

// built is a build's result and the questions it asked, so that a later
// revision answering them alike can reuse the result.
type built struct {
	accesses []access
	answers  string
	objects  []Object
}

// maxBuilds bounds the results kept for reuse (one per consumer: a
// Kustomization, an app).
const maxBuilds = 4096

// builds keeps, per options digest, the last successful build.
type builds struct {
	mu sync.Mutex
	m  map[string]*built
}

func (b *builds) get(opts string) (*built, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[opts]
	return e, ok
}

func (b *builds) put(opts string, e *built) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*built{}
	}
	if _, ok := b.m[opts]; !ok && len(b.m) >= maxBuilds {
		for k := range b.m { // any one: the map has no order to keep
			delete(b.m, k)
			break
		}
	}
	b.m[opts] = e
}

package artifact

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Tree is a directory mounted into the packed artifact, for GitRepository
// spec.include: the contents of Dir/FromPath appear at ToPath and replace
// whatever the main tree has there.
type Tree struct {
	// Dir is the directory holding the included content, usually an
	// artifact unpacked with Storage.Extract. Pack only reads it.
	Dir string
	// FromPath selects a sub-directory of Dir; empty means all of Dir.
	FromPath string
	// ToPath is where the content appears in the artifact, relative to its
	// root; it must not be the root itself.
	ToPath string
}

// tree is the union of the main directory and the mounted includes, as
// the artifact will show it. Every read goes through an os.Root, so no
// symlink in a tree can make Pack read outside that tree.
type tree struct {
	mounts []*mount // mounts[0] is the main tree at the root
}

type mount struct {
	at    []string // where it appears in the artifact
	root  *os.Root
	label string // for error messages
}

// node is one directory entry of the tree.
type node struct {
	name string
	mode fs.FileMode
	size int64
	m    *mount // nil for a directory made up to hold a mount
	rel  string // path inside m
}

func openTree(dir string, includes []Tree) (*tree, error) {
	main, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open source tree %s: %w", dir, err)
	}
	t := &tree{mounts: []*mount{{root: main, label: dir}}}
	for _, inc := range includes {
		m, err := openMount(inc)
		if err != nil {
			t.close()
			return nil, err
		}
		t.mounts = append(t.mounts, m)
	}
	return t, nil
}

func openMount(inc Tree) (*mount, error) {
	to, err := splitRel(inc.ToPath)
	if err != nil || len(to) == 0 {
		return nil, fmt.Errorf("include %s: invalid toPath %q: must be a relative path below the artifact root", inc.Dir, inc.ToPath)
	}
	from, err := splitRel(inc.FromPath)
	if err != nil {
		return nil, fmt.Errorf("include %s: invalid fromPath %q: must be a relative path inside the include", inc.Dir, inc.FromPath)
	}
	root, err := os.OpenRoot(inc.Dir)
	if err != nil {
		return nil, fmt.Errorf("open include %s: %w", inc.Dir, err)
	}
	if len(from) > 0 {
		sub, err := root.OpenRoot(joinPath(from))
		root.Close()
		if err != nil {
			return nil, fmt.Errorf("include %s: open fromPath %q: %w", inc.Dir, inc.FromPath, err)
		}
		root = sub
	}
	return &mount{at: to, root: root, label: filepath.Join(inc.Dir, joinPath(from))}, nil
}

func (t *tree) close() {
	for _, m := range t.mounts {
		m.root.Close()
	}
}

// resolve finds the mount that serves p (the deepest one; the later one on
// a tie) and the path inside it.
func (t *tree) resolve(p []string) (*mount, string) {
	best := t.mounts[0]
	for _, m := range t.mounts[1:] {
		if len(m.at) >= len(best.at) && hasPrefix(p, m.at) {
			best = m
		}
	}
	return best, joinPath(p[len(best.at):])
}

// mountAt returns the mount whose root is exactly p, if any.
func (t *tree) mountAt(p []string) *mount {
	var found *mount
	for _, m := range t.mounts[1:] {
		if slices.Equal(m.at, p) {
			found = m
		}
	}
	return found
}

// holdsMount reports whether a mount lies strictly below p.
func (t *tree) holdsMount(p []string) bool {
	for _, m := range t.mounts[1:] {
		if len(m.at) > len(p) && hasPrefix(m.at, p) {
			return true
		}
	}
	return false
}

// readDir lists dir sorted by name, with mounts in place of what they hide.
func (t *tree) readDir(dir []string) ([]node, error) {
	m, rel := t.resolve(dir)
	var nodes []node
	entries, err := readRootDir(m.root, rel)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && t.holdsMount(dir)) {
		return nil, fmt.Errorf("read %s: %w", displayPath(m, rel), err)
	}
	for _, e := range entries {
		child := appendPath(dir, e.Name())
		if mm := t.mountAt(child); mm != nil {
			if !e.IsDir() {
				return nil, fmt.Errorf("include at %s conflicts with a non-directory in the source tree", joinPath(child))
			}
			nodes = append(nodes, node{name: e.Name(), mode: fs.ModeDir | 0o755, m: mm, rel: "."})
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", displayPath(m, path.Join(rel, e.Name())), err)
		}
		nodes = append(nodes, node{name: e.Name(), mode: info.Mode(), size: info.Size(), m: m, rel: path.Join(rel, e.Name())})
	}
	for _, mm := range t.mounts[1:] {
		if len(mm.at) <= len(dir) || !hasPrefix(mm.at, dir) {
			continue
		}
		name := mm.at[len(dir)]
		i := slices.IndexFunc(nodes, func(n node) bool { return n.name == name })
		switch {
		case i < 0:
			nodes = append(nodes, node{name: name, mode: fs.ModeDir | 0o755})
		case !nodes[i].mode.IsDir():
			return nil, fmt.Errorf("include at %s conflicts with a non-directory in the source tree", joinPath(mm.at))
		}
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.name, b.name) })
	return nodes, nil
}

func readRootDir(root *os.Root, rel string) ([]fs.DirEntry, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// open opens a regular file node for reading.
func (n node) open() (*os.File, error) {
	f, err := n.m.root.Open(n.rel)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", displayPath(n.m, n.rel), err)
	}
	return f, nil
}

// read returns the contents of a regular file node of at most limit bytes.
func (n node) read(limit int64) ([]byte, error) {
	f, err := n.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayPath(n.m, n.rel), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", displayPath(n.m, n.rel), limit)
	}
	return data, nil
}

// lstat implements linkFS over the artifact's view of the tree.
func (t *tree) lstat(p []string) (fs.FileMode, bool, error) {
	if t.mountAt(p) != nil || t.holdsMount(p) {
		return fs.ModeDir, true, nil
	}
	m, rel := t.resolve(p)
	info, err := m.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return info.Mode(), true, nil
}

// readlink implements linkFS.
func (t *tree) readlink(p []string) (string, error) {
	m, rel := t.resolve(p)
	return m.root.Readlink(rel)
}

func displayPath(m *mount, rel string) string {
	return filepath.Join(m.label, filepath.FromSlash(rel))
}

// splitRel cleans a slash or OS separated relative path into its elements;
// "" and "." give none. It refuses absolute paths and paths leaving the root.
func splitRel(p string) ([]string, error) {
	p = filepath.ToSlash(p)
	if path.IsAbs(p) {
		return nil, fmt.Errorf("%q is absolute", p)
	}
	c := path.Clean(p)
	if c == "." {
		return nil, nil
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return nil, fmt.Errorf("%q leaves the root", p)
	}
	return strings.Split(c, "/"), nil
}

func joinPath(p []string) string {
	if len(p) == 0 {
		return "."
	}
	return strings.Join(p, "/")
}

// appendPath returns p+name without sharing p's backing array.
func appendPath(p []string, name string) []string {
	return append(slices.Clip(p), name)
}

func hasPrefix(p, prefix []string) bool {
	return len(p) >= len(prefix) && slices.Equal(p[:len(prefix)], prefix)
}

package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// source reads an unpacked artifact on disk without ever writing to it.
// Symlinks are followed only when their target stays inside the root
// (CVE-2022-24877, CVE-2022-31036): a link that leads out, even one no
// manifest uses, fails the render, as in Argo CD; a link inside keeps
// working (argo-cd#8379).
type source struct {
	root     string // absolute, symlinks resolved
	maxBytes int64
	read     int64
	entries  int // files and folders seen, against maxEntries
}

// maxEntries bounds the files and folders one render looks at, so that
// folder symlinks fanning out (each folder linking many times to the next)
// cannot keep a render walking without reading a byte.
const maxEntries = 1_000_000

func openSource(root string, maxBytes int64) (*source, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("source root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("source root: %w", err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("source root %s is not a directory", root)
	}
	return &source{root: real, maxBytes: maxBytes}, nil
}

// dir returns the directory on disk for the clean relative path rel.
func (s *source) dir(rel string) (string, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(s.root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("path %q not found in the source", rel)
	}
	if err != nil {
		return "", fmt.Errorf("path %q: %w", rel, err)
	}
	if !within(s.root, real) {
		return "", fmt.Errorf("path %q: %w through a symlink", rel, ErrOutsideRoot)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("path %q is not a directory", rel)
	}
	return real, nil
}

// visitor receives each directory (data nil) and each wanted regular file
// found by walk, by its logical path below the root (through symlinks).
type visitor func(rel string, isDir bool, data []byte) error

// walkOptions say what walk reads.
type walkOptions struct {
	recurse bool
	want    func(rel string) bool // nil: every file
}

// walk visits dir (the disk directory for logical path rel) in lexical
// order, skipping .git folders and anything that is not a regular file or
// a directory.
func (s *source) walk(ctx context.Context, dir, rel string, o walkOptions, visit visitor) error {
	return s.walkDir(ctx, dir, rel, o, visit, map[string]bool{dir: true})
}

func (s *source) walkDir(ctx context.Context, dir, rel string, o walkOptions, visit visitor, stack map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", displayPath(rel), err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.entries++; s.entries > maxEntries {
			return fmt.Errorf("more than %d files and folders: %w", maxEntries, ErrTooLarge)
		}
		full, childRel := filepath.Join(dir, e.Name()), path.Join(rel, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			target, ok, err := s.follow(full, childRel)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			fi, err := os.Stat(target)
			if err != nil {
				return fmt.Errorf("%s: %w", childRel, err)
			}
			full, mode = target, fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if !o.recurse || e.Name() == ".git" || stack[full] {
				continue
			}
			if err := visit(childRel, true, nil); err != nil {
				return err
			}
			stack[full] = true
			err := s.walkDir(ctx, full, childRel, o, visit, stack)
			delete(stack, full)
			if err != nil {
				return err
			}
		case mode.IsRegular():
			if o.want != nil && !o.want(childRel) {
				continue
			}
			data, err := s.readFile(full, childRel)
			if err != nil {
				return err
			}
			if err := visit(childRel, false, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// follow resolves the symlink at full. ok is false for a dangling link
// that points inside the root (ignored, like a missing file).
func (s *source) follow(full, rel string) (target string, ok bool, err error) {
	text, err := os.Readlink(full)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", rel, err)
	}
	escape := fmt.Errorf("%s: symlink to %q %w", rel, text, ErrOutsideRoot)
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		lexical := text
		if !filepath.IsAbs(lexical) {
			lexical = filepath.Join(filepath.Dir(full), lexical)
		}
		if !within(s.root, filepath.Clean(lexical)) {
			return "", false, escape
		}
		return "", false, nil
	}
	if !within(s.root, real) {
		return "", false, escape
	}
	return real, true, nil
}

// readFile reads a regular file, counting it against maxBytes.
func (s *source) readFile(full, rel string) ([]byte, error) {
	f, err := os.Open(full)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	left := s.maxBytes - s.read
	data, err := io.ReadAll(io.LimitReader(f, left+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	s.read += int64(len(data))
	if s.read > s.maxBytes {
		return nil, fmt.Errorf("reading %s: more than %d bytes: %w", rel, s.maxBytes, ErrTooLarge)
	}
	return data, nil
}

// within reports whether p is root or below it (both clean and absolute).
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

func displayPath(rel string) string {
	if rel == "" || rel == "." {
		return "."
	}
	return rel
}

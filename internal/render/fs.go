package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// mountDir is where the source sits in kustomize's in-memory file system.
// Below the file system root, so that "../.." out of the source lands
// outside it and is refused by name instead of resolving to "/".
const mountDir = "/source"

// confinedFS is the file system kustomize sees: the in-memory copy of the
// source under mountDir, and nothing else. With remote bases allowed it
// also serves, read-only from disk, the temporary folders that kustomize
// clones Git bases into. Once ctx ends every call fails, which stops a
// build that Go could not otherwise interrupt at its next file access.
type confinedFS struct {
	ctx    context.Context
	open   func(file string, data []byte) ([]byte, error) // every file read passes through it
	mem    filesys.FileSystem
	disk   filesys.FileSystem // nil: no remote bases
	tmpDir string             // where kustomize clones, symlinks resolved
}

func newConfinedFS(ctx context.Context, mem filesys.FileSystem, o *Options) *confinedFS {
	f := &confinedFS{ctx: ctx, mem: mem, open: o.openFile}
	allowRemote := o.AllowRemoteBases
	if allowRemote {
		if tmp, err := filepath.EvalSymlinks(os.TempDir()); err == nil {
			f.disk, f.tmpDir = filesys.MakeFsOnDisk(), tmp
		}
	}
	return f
}

// route returns the file system that holds p, or an error naming p.
func (f *confinedFS) route(p string) (filesys.FileSystem, string, error) {
	if err := f.ctx.Err(); err != nil {
		return nil, "", err
	}
	clean := filepath.Clean("/" + p)
	if filepath.IsAbs(p) {
		clean = filepath.Clean(p)
	}
	if within(mountDir, clean) {
		return f.mem, clean, nil
	}
	if f.disk != nil && f.isClone(clean) {
		return f.disk, clean, nil
	}
	return nil, "", fmt.Errorf("%s: %w", p, ErrOutsideRoot)
}

// isClone reports whether p is inside one of kustomize's clone folders
// ($TMPDIR/kustomize-*) and stays there once symlinks are resolved.
func (f *confinedFS) isClone(p string) bool {
	rel, err := filepath.Rel(f.tmpDir, p)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return false
	}
	top := strings.Split(rel, string(filepath.Separator))[0]
	if !strings.HasPrefix(top, "kustomize-") {
		return false
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return os.IsNotExist(err) // not there (yet): harmless
	}
	return within(filepath.Join(f.tmpDir, top), real)
}

func (f *confinedFS) Create(p string) (filesys.File, error) {
	fs, c, err := f.route(p)
	if err != nil {
		return nil, err
	}
	return fs.Create(c)
}

func (f *confinedFS) Mkdir(p string) error {
	fs, c, err := f.route(p)
	if err != nil {
		return err
	}
	return fs.Mkdir(c)
}

func (f *confinedFS) MkdirAll(p string) error {
	fs, c, err := f.route(p)
	if err != nil {
		return err
	}
	return fs.MkdirAll(c)
}

func (f *confinedFS) RemoveAll(p string) error {
	fs, c, err := f.route(p)
	if err != nil {
		return err
	}
	return fs.RemoveAll(c)
}

func (f *confinedFS) Open(p string) (filesys.File, error) {
	fs, c, err := f.route(p)
	if err != nil {
		return nil, err
	}
	return fs.Open(c)
}

func (f *confinedFS) IsDir(p string) bool {
	fs, c, err := f.route(p)
	return err == nil && fs.IsDir(c)
}

func (f *confinedFS) ReadDir(p string) ([]string, error) {
	fs, c, err := f.route(p)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(c)
}

func (f *confinedFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	fs, c, err := f.route(p)
	if err != nil {
		return "", "", err
	}
	return fs.CleanedAbs(c)
}

func (f *confinedFS) Exists(p string) bool {
	fs, c, err := f.route(p)
	return err == nil && fs.Exists(c)
}

func (f *confinedFS) Glob(pattern string) ([]string, error) {
	fs, c, err := f.route(pattern)
	if err != nil {
		return nil, err
	}
	return fs.Glob(c)
}

func (f *confinedFS) ReadFile(p string) ([]byte, error) {
	fs, c, err := f.route(p)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(c)
	if err != nil {
		return nil, err
	}
	return f.open(displayFile(c), data)
}

// displayFile names a file of the file system as messages do: relative to
// the source root, or as it is on disk for a remote base's clone.
func displayFile(p string) string {
	if rel, ok := strings.CutPrefix(p, mountDir+"/"); ok {
		return rel
	}
	return p
}

func (f *confinedFS) WriteFile(p string, data []byte) error {
	fs, c, err := f.route(p)
	if err != nil {
		return err
	}
	return fs.WriteFile(c, data)
}

func (f *confinedFS) Walk(p string, fn filepath.WalkFunc) error {
	fs, c, err := f.route(p)
	if err != nil {
		return err
	}
	return fs.Walk(c, fn)
}

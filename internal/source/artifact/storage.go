package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultMaxExtractSize is the file content Extract allows when
	// Storage.MaxExtractSize is 0 (Flux's default for unpacking artifacts).
	DefaultMaxExtractSize int64 = 100 << 20
	// DefaultMaxExtractEntries is the entries Extract allows when
	// Storage.MaxExtractEntries is 0 (the Git fetcher's default file
	// count).
	DefaultMaxExtractEntries = 100_000

	// tempPrefix starts the name of an artifact being written; such files
	// are never served, and GC removes them once stale.
	tempPrefix = ".tmp-"
	// staleTempAge is how long a temp file may go unwritten before GC
	// takes it for the leftover of a crash.
	staleTempAge = time.Hour
	// artifactExt ends the name of a stored tarball artifact.
	artifactExt = ".tar.gz"
)

// artifactExts are the endings of stored artifacts: tarballs of sources,
// Helm chart archives and Helm repository indexes.
var artifactExts = []string{artifactExt, ".tgz", ".yaml"}

func isArtifactName(name string) bool {
	for _, ext := range artifactExts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// Storage keeps artifacts on disk as Flux lays them out:
// <kind>/<namespace>/<name>/<digest-hex>.tar.gz under Root, where kind is
// lower case ("gitrepository"). Use it through a pointer; its methods are
// safe for concurrent use.
type Storage struct {
	// Root is the directory holding all artifacts.
	Root string
	// BaseURL is what consumers put before an artifact's path to download
	// it, e.g. "http://source-controller.flux-system.svc.cluster.local.".
	// Without a scheme, "http://" is assumed.
	BaseURL string
	// MaxExtractSize bounds the file content that Extract unpacks from
	// one artifact; 0 means DefaultMaxExtractSize.
	MaxExtractSize int64
	// MaxExtractEntries bounds the files, folders and links that Extract
	// unpacks from one artifact; 0 means DefaultMaxExtractEntries.
	MaxExtractEntries int

	// mu serialises the steps that change an object's directory (the final
	// rename, GC, Delete); packing runs outside it.
	mu sync.Mutex
}

// Stored describes an artifact in Storage.
type Stored struct {
	// Path is relative to Storage.Root, with slashes.
	Path string
	// URL is where Handler serves it: BaseURL + "/" + Path.
	URL string
	// Digest is "sha256:<hex>" of the file.
	Digest string
	// Size is the file size in bytes.
	Size int64
	// LastUpdateTime is when it was (last) stored.
	LastUpdateTime time.Time
}

// NewStorage returns a Storage for root, creating the directory if needed.
func NewStorage(root, baseURL string) (*Storage, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("artifact storage %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("create artifact storage %s: %w", abs, err)
	}
	return &Storage{Root: abs, BaseURL: baseURL}, nil
}

// Store writes the artifact that pack produces for the object kind
// namespace/name and returns where it lives. The bytes go to a temporary
// file in the object's directory, which is renamed into place only when
// pack succeeds, so readers never see a partial artifact. When an artifact
// with the same digest is already stored it is kept (only its time is
// renewed, so that GC counts it as the newest) and the new copy dropped.
// The digest is computed here; a PackResult reporting another fails.
func (s *Storage) Store(ctx context.Context, kind, namespace, name string, pack func(io.Writer) (PackResult, error)) (Stored, error) {
	return s.StoreAs(ctx, kind, namespace, name, artifactExt, pack)
}

// StoreBytes stores data as an artifact whose file name ends in ext
// (".tgz" for a chart, ".yaml" for a repository index), like Store.
func (s *Storage) StoreBytes(ctx context.Context, kind, namespace, name, ext string, data []byte) (Stored, error) {
	return s.StoreAs(ctx, kind, namespace, name, ext, func(w io.Writer) (PackResult, error) {
		n, err := w.Write(data)
		return PackResult{Size: int64(n)}, err
	})
}

// StoreAs is Store for an artifact whose file name ends in ext, one of
// ".tar.gz", ".tgz" and ".yaml".
func (s *Storage) StoreAs(ctx context.Context, kind, namespace, name, ext string, pack func(io.Writer) (PackResult, error)) (Stored, error) {
	if !slices.Contains(artifactExts, ext) {
		return Stored{}, fmt.Errorf("store artifact: unknown extension %q", ext)
	}
	dir, err := s.objectDir(kind, namespace, name)
	if err != nil {
		return Stored{}, err
	}
	obj := fmt.Sprintf("%s %s/%s", kind, namespace, name)
	if err := os.MkdirAll(filepath.Join(s.Root, filepath.FromSlash(dir)), 0o750); err != nil {
		return Stored{}, fmt.Errorf("store artifact of %s: %w", obj, err)
	}
	tmp, digest, size, err := s.writeTemp(dir, pack)
	if err != nil {
		return Stored{}, fmt.Errorf("store artifact of %s: %w", obj, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp)
		}
	}()
	if err := ctx.Err(); err != nil {
		return Stored{}, fmt.Errorf("store artifact of %s: %w", obj, err)
	}

	rel := path.Join(dir, strings.TrimPrefix(digest, "sha256:")+ext)
	final := filepath.Join(s.Root, filepath.FromSlash(rel))
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if info, err := os.Lstat(final); err == nil && info.Mode().IsRegular() && info.Size() == size {
		if err := os.Chtimes(final, now, now); err != nil {
			return Stored{}, fmt.Errorf("store artifact of %s: %w", obj, err)
		}
	} else {
		if err := os.Rename(tmp, final); err != nil {
			return Stored{}, fmt.Errorf("store artifact of %s: %w", obj, err)
		}
		renamed = true
	}
	return Stored{Path: rel, URL: s.url(rel), Digest: digest, Size: size, LastUpdateTime: now}, nil
}

// writeTemp runs pack into a new temporary file in dir and returns its
// path, digest and size. The file is removed on failure.
func (s *Storage) writeTemp(dir string, pack func(io.Writer) (PackResult, error)) (tmp, digest string, size int64, err error) {
	f, err := os.CreateTemp(filepath.Join(s.Root, filepath.FromSlash(dir)), tempPrefix+"*")
	if err != nil {
		return "", "", 0, err
	}
	name := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
		}
	}()
	out := &limitedWriter{w: f, hash: sha256.New()}
	res, err := pack(out)
	if err != nil {
		return "", "", 0, err
	}
	digest = "sha256:" + hex.EncodeToString(out.hash.Sum(nil))
	if res.Digest != "" && res.Digest != digest {
		return "", "", 0, fmt.Errorf("packer reported digest %s but wrote %s", res.Digest, digest)
	}
	if err = f.Chmod(0o600); err != nil {
		return "", "", 0, err
	}
	if err = f.Sync(); err != nil {
		return "", "", 0, err
	}
	if err = f.Close(); err != nil {
		return "", "", 0, err
	}
	return name, digest, out.n, nil
}

// GC removes the artifacts of the object kind namespace/name except the
// newest keep ones and current (a Path as returned by Store, or its file
// name), and returns the Paths it removed. It also removes temporary files
// that were left behind by a crash.
func (s *Storage) GC(kind, namespace, name string, keep int, current string) ([]string, error) {
	dir, err := s.objectDir(kind, namespace, name)
	if err != nil {
		return nil, err
	}
	if keep < 0 {
		return nil, fmt.Errorf("garbage collect %s %s/%s: keep must not be negative, got %d", kind, namespace, name, keep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	abs := filepath.Join(s.Root, filepath.FromSlash(dir))
	entries, err := os.ReadDir(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("garbage collect %s %s/%s: %w", kind, namespace, name, err)
	}
	type file struct {
		name string
		mod  time.Time
	}
	var artifacts []file
	var doomed []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch {
		case strings.HasPrefix(e.Name(), tempPrefix):
			if time.Since(info.ModTime()) > staleTempAge {
				doomed = append(doomed, e.Name())
			}
		case isArtifactName(e.Name()):
			artifacts = append(artifacts, file{e.Name(), info.ModTime()})
		}
	}
	slices.SortFunc(artifacts, func(a, b file) int {
		if c := b.mod.Compare(a.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for i, f := range artifacts {
		if i >= keep && f.name != path.Base(current) {
			doomed = append(doomed, f.name)
		}
	}
	var removed []string
	var errs []error
	for _, n := range doomed {
		if err := os.Remove(filepath.Join(abs, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if !strings.HasPrefix(n, tempPrefix) {
			removed = append(removed, path.Join(dir, n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("garbage collect %s %s/%s: %w", kind, namespace, name, err)
	}
	return removed, nil
}

// Delete removes every artifact of the object kind namespace/name, for an
// object that is gone.
func (s *Storage) Delete(kind, namespace, name string) error {
	dir, err := s.objectDir(kind, namespace, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(s.Root, filepath.FromSlash(dir))); err != nil {
		return fmt.Errorf("delete artifacts of %s %s/%s: %w", kind, namespace, name, err)
	}
	return nil
}

// Exists reports whether artifactPath (a Stored.Path) is a regular file in
// Storage.
func (s *Storage) Exists(artifactPath string) bool {
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return false
	}
	defer root.Close()
	if !fs.ValidPath(artifactPath) {
		return false
	}
	info, err := root.Lstat(artifactPath)
	return err == nil && info.Mode().IsRegular()
}

// url returns the download URL of p (a Stored.Path).
func (s *Storage) url(p string) string {
	base := strings.TrimRight(s.BaseURL, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return base + "/" + p
}

// objectDir returns "<kind>/<namespace>/<name>" after checking that each
// part is a single, ordinary path element.
func (s *Storage) objectDir(kind, namespace, name string) (string, error) {
	kind = strings.ToLower(kind)
	for _, part := range []struct{ what, v string }{{"kind", kind}, {"namespace", namespace}, {"name", name}} {
		if part.v == "" || part.v == "." || part.v == ".." || strings.ContainsAny(part.v, "/\\\x00") {
			return "", fmt.Errorf("artifact storage: invalid %s %q", part.what, part.v)
		}
	}
	return path.Join(kind, namespace, name), nil
}

// ReadFile returns the bytes of the artifact at artifactPath (a
// Stored.Path), refusing files over limit bytes (0: DefaultMaxExtractSize).
func (s *Storage) ReadFile(artifactPath string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxExtractSize
	}
	if !fs.ValidPath(artifactPath) {
		return nil, fmt.Errorf("read artifact %s: invalid path", artifactPath)
	}
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", artifactPath, err)
	}
	defer root.Close()
	f, err := root.Open(artifactPath)
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", artifactPath, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", artifactPath, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read artifact %s: larger than %d bytes", artifactPath, limit)
	}
	return data, nil
}

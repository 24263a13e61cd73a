package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newStorage(t *testing.T) *Storage {
	t.Helper()
	s, err := NewStorage(filepath.Join(t.TempDir(), "artifacts"), "http://127.0.0.1:9090/")
	must(t, err)
	return s
}

// packDir returns a pack function for Store that packs dir.
func packDir(dir string) func(io.Writer) (PackResult, error) {
	return func(w io.Writer) (PackResult, error) {
		return Pack(context.Background(), w, PackOptions{Dir: dir})
	}
}

// bytesPacker returns a pack function that writes fixed bytes.
func bytesPacker(data string) func(io.Writer) (PackResult, error) {
	return func(w io.Writer) (PackResult, error) {
		_, err := io.WriteString(w, data)
		return PackResult{}, err
	}
}

func objectFiles(t *testing.T, s *Storage, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root, dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestStoreLayoutAndIdempotence(t *testing.T) {
	s := newStorage(t)
	ctx := context.Background()
	src := writeTree(t, map[string]string{"deploy/app.yaml": "app"})

	first, err := s.Store(ctx, "GitRepository", "flux-system", "podinfo", packDir(src))
	must(t, err)
	data, err := os.ReadFile(filepath.Join(s.Root, first.Path))
	must(t, err)
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	if want := "gitrepository/flux-system/podinfo/" + hexSum + ".tar.gz"; first.Path != want {
		t.Errorf("Path = %q, want %q", first.Path, want)
	}
	if want := "http://127.0.0.1:9090/" + first.Path; first.URL != want {
		t.Errorf("URL = %q, want %q", first.URL, want)
	}
	if first.Digest != "sha256:"+hexSum || first.Size != int64(len(data)) || first.LastUpdateTime.IsZero() {
		t.Errorf("Stored %+v does not describe the file", first)
	}
	if !s.Exists(first.Path) {
		t.Error("Exists is false for the stored artifact")
	}

	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(filepath.Join(s.Root, first.Path), old, old))
	again, err := s.Store(ctx, "GitRepository", "flux-system", "podinfo", packDir(src))
	must(t, err)
	if again.Path != first.Path || again.Digest != first.Digest {
		t.Errorf("storing the same tree again gave %+v, want %+v", again, first)
	}
	if files := objectFiles(t, s, "gitrepository/flux-system/podinfo"); len(files) != 1 {
		t.Errorf("object directory holds %q, want one artifact and no temporary file", files)
	}
	info, err := os.Stat(filepath.Join(s.Root, first.Path))
	must(t, err)
	if !info.ModTime().After(old) {
		t.Error("storing the same digest again did not renew the file time")
	}
}

func TestStoreFailures(t *testing.T) {
	s := newStorage(t)
	ctx := context.Background()
	tests := []struct {
		name                 string
		kind, namespace, obj string
		pack                 func(io.Writer) (PackResult, error)
		wantErr              string
	}{
		{"empty name", "GitRepository", "default", "", bytesPacker("x"), `invalid name ""`},
		{"traversal in namespace", "GitRepository", "..", "x", bytesPacker("x"), `invalid namespace ".."`},
		{"slash in kind", "Git/Repository", "default", "x", bytesPacker("x"), "invalid kind"},
		{"pack fails", "GitRepository", "default", "broken", func(w io.Writer) (PackResult, error) {
			_, _ = io.WriteString(w, "partial")
			return PackResult{}, errors.New("boom")
		}, "boom"},
		{"pack lies about the digest", "GitRepository", "default", "liar", func(w io.Writer) (PackResult, error) {
			_, err := io.WriteString(w, "x")
			return PackResult{Digest: "sha256:00"}, err
		}, "packer reported digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Store(ctx, tt.kind, tt.namespace, tt.obj, tt.pack)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	for _, obj := range []string{"broken", "liar"} {
		if files := objectFiles(t, s, "gitrepository/default/"+obj); len(files) != 0 {
			t.Errorf("failed Store of %s left %q", obj, files)
		}
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	// store writes n artifacts, the i-th one i hours old.
	store := func(t *testing.T, s *Storage, n int) []Stored {
		var out []Stored
		for i := range n {
			st, err := s.Store(ctx, "GitRepository", "default", "app", bytesPacker(strings.Repeat("x", i+1)))
			must(t, err)
			at := time.Now().Add(-time.Duration(i) * time.Hour)
			must(t, os.Chtimes(filepath.Join(s.Root, st.Path), at, at))
			out = append(out, st)
		}
		return out
	}
	tests := []struct {
		name    string
		keep    int
		current int   // index of the current artifact
		want    []int // indexes left
	}{
		{"keep newest two", 2, 0, []int{0, 1}},
		{"current survives though old", 2, 4, []int{0, 1, 4}},
		{"keep none but current", 0, 2, []int{2}},
		{"keep more than there are", 10, 0, []int{0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStorage(t)
			stored := store(t, s, 5)
			stale := filepath.Join(s.Root, "gitrepository/default/app", tempPrefix+"crashed")
			must(t, os.WriteFile(stale, []byte("x"), 0o600))
			long := time.Now().Add(-2 * staleTempAge)
			must(t, os.Chtimes(stale, long, long))

			removed, err := s.GC("GitRepository", "default", "app", tt.keep, stored[tt.current].Path)
			must(t, err)
			var left, wantRemoved []string
			for i, st := range stored {
				if slices.Contains(tt.want, i) {
					left = append(left, filepath.Base(st.Path))
				} else {
					wantRemoved = append(wantRemoved, st.Path)
				}
			}
			slices.Sort(left)
			slices.Sort(removed)
			slices.Sort(wantRemoved)
			if got := objectFiles(t, s, "gitrepository/default/app"); !slices.Equal(got, left) {
				t.Errorf("left %q, want %q", got, left)
			}
			if !slices.Equal(removed, wantRemoved) {
				t.Errorf("GC reported %q, want %q", removed, wantRemoved)
			}
		})
	}

	s := newStorage(t)
	if _, err := s.GC("GitRepository", "default", "never-stored", 2, ""); err != nil {
		t.Errorf("GC of an object without artifacts: %v", err)
	}
	if _, err := s.GC("GitRepository", "default", "app", -1, ""); err == nil {
		t.Error("GC accepted a negative keep")
	}
}

func TestDelete(t *testing.T) {
	s := newStorage(t)
	ctx := context.Background()
	gone, err := s.Store(ctx, "GitRepository", "default", "gone", bytesPacker("a"))
	must(t, err)
	kept, err := s.Store(ctx, "GitRepository", "default", "kept", bytesPacker("b"))
	must(t, err)
	must(t, s.Delete("GitRepository", "default", "gone"))
	if s.Exists(gone.Path) {
		t.Error("artifact of the deleted object still exists")
	}
	if !s.Exists(kept.Path) {
		t.Error("Delete removed another object's artifact")
	}
	must(t, s.Delete("GitRepository", "default", "gone")) // idempotent
	if err := s.Delete("GitRepository", "default", ".."); err == nil {
		t.Error("Delete accepted name \"..\"")
	}
}

func TestExists(t *testing.T) {
	s := newStorage(t)
	st, err := s.Store(context.Background(), "GitRepository", "default", "app", bytesPacker("a"))
	must(t, err)
	outside := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(outside, []byte("s"), 0o600))
	must(t, os.Symlink(outside, filepath.Join(s.Root, "escape.tar.gz")))
	for path, want := range map[string]bool{
		st.Path:                      true,
		"gitrepository/default/app":  false,
		"gitrepository/default/nope": false,
		"../" + filepath.Base(s.Root) + "/" + st.Path: false,
		"/" + st.Path:   false,
		"escape.tar.gz": false,
	} {
		if got := s.Exists(path); got != want {
			t.Errorf("Exists(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := newStorage(t)
	src := writeTree(t, map[string]string{"deploy/app.yaml": "app"})
	const n = 8
	results := make(chan Stored, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			st, err := s.Store(context.Background(), "GitRepository", "default", "app", packDir(src))
			results <- st
			errs <- err
		}()
	}
	var paths []string
	for range n {
		must(t, <-errs)
		paths = append(paths, (<-results).Path)
	}
	if unique := slices.Compact(slices.Sorted(slices.Values(paths))); len(unique) != 1 {
		t.Errorf("concurrent Stores of one tree gave paths %q", paths)
	}
	if files := objectFiles(t, s, "gitrepository/default/app"); len(files) != 1 {
		t.Errorf("object directory holds %q, want one artifact", files)
	}
}

package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarOf is a tar stream of entries (name -> content; content "->x" makes
// a symlink to x, "/" a directory).
func tarOf(entries [][2]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		switch {
		case strings.HasPrefix(e[1], "->"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e[1][2:], 0
		case e[1] == "/":
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		_ = tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e[1]))
		}
	}
	_ = tw.Close()
	return b.Bytes()
}

// FuzzUnpack: an artifact is a tar an attacker may shape (a repository's
// files, a bucket's objects). Whatever it holds, Unpack writes nothing
// outside its destination and leaves no symlink that leads outside it.
func FuzzUnpack(f *testing.F) {
	f.Add(tarOf([][2]string{{"deploy/app.yaml", "kind: ConfigMap"}, {"deploy/alias.yaml", "->app.yaml"}}))
	f.Add(tarOf([][2]string{{"../escape", "x"}}))
	f.Add(tarOf([][2]string{{"/etc/passwd", "x"}}))
	f.Add(tarOf([][2]string{{"up", "->.."}, {"up/escape", "x"}}))
	f.Add(tarOf([][2]string{{"a", "->/tmp"}, {"a/b", "x"}}))
	f.Add(tarOf([][2]string{{"d", "/"}, {"d/../../x", "y"}}))
	f.Add(tarOf([][2]string{{"link", "->link"}}))
	f.Fuzz(func(t *testing.T, archive []byte) {
		parent := t.TempDir()
		dst := filepath.Join(parent, "out")
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		_, _ = w.Write(archive)
		_ = w.Close()
		_ = Unpack(context.Background(), &gz, dst, Limits{Bytes: 1 << 20, Entries: 200})
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "out" {
				t.Fatalf("wrote %s outside the destination", e.Name())
			}
		}
		_ = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			target, err := os.Readlink(p)
			if err != nil {
				return nil
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			if rel, err := filepath.Rel(dst, filepath.Clean(target)); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("symlink %s leads outside the destination (%s)", p, target)
			}
			return nil
		})
	})
}

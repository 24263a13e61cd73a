package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Values in a tree spec: "@link:TARGET" makes a symlink, "@exec:BODY" an
// executable file, "@dir" an empty directory; anything else is file content.
const (
	linkPrefix = "@link:"
	execPrefix = "@exec:"
	emptyDir   = "@dir"
)

// writeTree creates the files of spec under a new temporary directory and
// returns it.
func writeTree(t *testing.T, spec map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	addToTree(t, dir, spec)
	return dir
}

func addToTree(t *testing.T, dir string, spec map[string]string) {
	t.Helper()
	for name, v := range spec {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if v == emptyDir {
			must(t, os.MkdirAll(p, 0o755))
			continue
		}
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch {
		case strings.HasPrefix(v, linkPrefix):
			must(t, os.Symlink(strings.TrimPrefix(v, linkPrefix), p))
		case strings.HasPrefix(v, execPrefix):
			must(t, os.WriteFile(p, []byte(strings.TrimPrefix(v, execPrefix)), 0o755))
		default:
			must(t, os.WriteFile(p, []byte(v), 0o644))
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// entry is one member of a tar.gz as the tests look at it.
type entry struct {
	Name string
	Type byte
	Mode int64
	Link string
	Body string
}

func readArchive(t *testing.T, data []byte) []entry {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	must(t, err)
	tr := tar.NewReader(gz)
	var out []entry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		must(t, err)
		body, err := io.ReadAll(tr)
		must(t, err)
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || !hdr.ModTime.Equal(epoch) {
			t.Errorf("entry %s carries host data: uid=%d gid=%d uname=%q gname=%q mtime=%v",
				hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.ModTime)
		}
		out = append(out, entry{Name: hdr.Name, Type: hdr.Typeflag, Mode: hdr.Mode, Link: hdr.Linkname, Body: string(body)})
	}
}

func entryNames(es []entry) []string {
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	return names
}

func packBytes(t *testing.T, opts PackOptions) ([]byte, PackResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Pack(context.Background(), &buf, opts)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return buf.Bytes(), res
}

// craftArchive builds a tar.gz from raw headers, for hostile inputs.
func craftArchive(t *testing.T, members []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		hdr := &tar.Header{Name: m.Name, Typeflag: m.Type, Mode: 0o644, Linkname: m.Link, Size: int64(len(m.Body)), Format: tar.FormatPAX}
		if m.Type != tar.TypeReg {
			hdr.Size = 0
		}
		must(t, tw.WriteHeader(hdr))
		if m.Type == tar.TypeReg {
			_, err := tw.Write([]byte(m.Body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPackIsDeterministic(t *testing.T) {
	spec := map[string]string{
		"a.yaml":         "a",
		"b/c.yaml":       "c",
		"b/d/e.yaml":     "e",
		"run.sh":         "@exec:#!/bin/sh",
		"link.yaml":      "@link:a.yaml",
		"empty":          "@dir",
		".sourceignore":  "*.tmp",
		"scratch.tmp":    "tmp",
		"z/deeper/x.txt": "x",
	}
	dir := writeTree(t, spec)
	before := snapshot(t, dir)

	first, res1 := packBytes(t, PackOptions{Dir: dir})
	second, res2 := packBytes(t, PackOptions{Dir: dir})
	if !bytes.Equal(first, second) || res1 != res2 {
		t.Fatalf("packing the same tree twice differs: %+v vs %+v", res1, res2)
	}

	// The same content elsewhere, with other times and permission bits.
	other := writeTree(t, spec)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	must(t, filepath.WalkDir(other, func(p string, d fs.DirEntry, err error) error {
		must(t, err)
		if d.Type().IsRegular() && !strings.HasSuffix(p, "run.sh") {
			must(t, os.Chmod(p, 0o640))
		}
		if d.Type()&fs.ModeSymlink == 0 {
			must(t, os.Chtimes(p, old, old))
		}
		return nil
	}))
	third, res3 := packBytes(t, PackOptions{Dir: other})
	if res3.Digest != res1.Digest {
		t.Errorf("same content in another directory gives digest %s, want %s", res3.Digest, res1.Digest)
	}
	if !bytes.Equal(first, third) {
		t.Error("same content in another directory gives other bytes")
	}

	sum := sha256.Sum256(first)
	if want := "sha256:" + hex.EncodeToString(sum[:]); res1.Digest != want || res1.Size != int64(len(first)) {
		t.Errorf("result %+v does not describe the bytes (digest %s, size %d)", res1, want, len(first))
	}
	if res1.Files != 6 {
		t.Errorf("Files = %d, want 6", res1.Files)
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Errorf("Pack changed the tree:\nbefore %q\nafter  %q", before, after)
	}

	modes := map[string]int64{}
	for _, e := range readArchive(t, first) {
		modes[e.Name] = e.Mode
	}
	for name, want := range map[string]int64{"a.yaml": 0o600, "run.sh": 0o700, "b": 0o750, "empty": 0o750} {
		if modes[name] != want {
			t.Errorf("mode of %s = %o, want %o", name, modes[name], want)
		}
	}
}

// snapshot lists every path of dir with its mode, size and time.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		must(t, err)
		info, err := d.Info()
		must(t, err)
		out = append(out, fmt.Sprint(p, info.Mode(), info.ModTime(), info.Size()))
		return nil
	}))
	return out
}

func TestPackKeepsSymlinksInsideRoot(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"base/app.yaml":     "app",
		"overlay/app.yaml":  "@link:../base/app.yaml",
		"overlay/base":      "@link:../base",
		"overlay/dangling":  "@link:missing/file",
		"self":              "@link:.",
		"x/y/z/root":        "@link:../../..",
		"x/y/z/via-root":    "@link:root/base/app.yaml",
		"chain":             "@link:overlay/base/app.yaml",
		"excluded-link.png": "@link:/etc/passwd", // excluded by default, never checked
	})
	data, res := packBytes(t, PackOptions{Dir: dir})
	links := map[string]string{}
	for _, e := range readArchive(t, data) {
		if e.Type == tar.TypeSymlink {
			links[e.Name] = e.Link
		}
	}
	want := map[string]string{
		"overlay/app.yaml": "../base/app.yaml",
		"overlay/base":     "../base",
		"overlay/dangling": "missing/file",
		"self":             ".",
		"x/y/z/root":       "../../..",
		"x/y/z/via-root":   "root/base/app.yaml",
		"chain":            "overlay/base/app.yaml",
	}
	if len(links) != len(want) {
		t.Errorf("symlinks %v, want %v", links, want)
	}
	for name, target := range want {
		if links[name] != target {
			t.Errorf("symlink %s -> %q, want %q", name, links[name], target)
		}
	}
	if res.Files != 1 {
		t.Errorf("Files = %d, want 1 (links are not followed)", res.Files)
	}
}

func TestPackRefusesSymlinkOutsideRoot_CVE_2022_24348(t *testing.T) {
	tests := []struct {
		name string
		tree map[string]string
		link string // the path the error must name
	}{
		{"absolute", map[string]string{"secrets.yaml": "@link:/etc/passwd"}, "secrets.yaml"},
		{"absolute inside the tree", map[string]string{"a": "x", "b": "@link:" + "/proc/self/cwd/a"}, "b"},
		{"parent", map[string]string{"deploy/values.yaml": "@link:../../outside"}, "deploy/values.yaml"},
		{"climbs out through a subdirectory", map[string]string{"a/b": "@link:c/../../../x"}, "a/b"},
		{"directory", map[string]string{"deploy/etc": "@link:../.."}, "deploy/etc"},
		{
			name: "escapes only when another link is followed",
			tree: map[string]string{"x/y/z/root": "@link:../../..", "e": "@link:x/y/z/root/../etc/passwd"},
			link: "e",
		},
		{
			name: "through a link to an absolute path",
			tree: map[string]string{"zz/abs": "@link:/", "a": "@link:zz/abs/etc/passwd"},
			link: "a",
		},
		{"loop", map[string]string{"a": "@link:b", "b": "@link:a"}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.tree)
			var buf bytes.Buffer
			_, err := Pack(context.Background(), &buf, PackOptions{Dir: dir})
			if err == nil {
				t.Fatal("Pack succeeded, want an error for the symlink")
			}
			if !strings.Contains(err.Error(), "symlink "+tt.link+" ") {
				t.Errorf("error %q does not name symlink %s", err, tt.link)
			}
		})
	}
}

func TestPackSkipsSpecialFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{"app.yaml": "app"})
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	data, _ := packBytes(t, PackOptions{Dir: dir})
	if got := entryNames(readArchive(t, data)); !slices.Equal(got, []string{"app.yaml"}) {
		t.Errorf("entries %q, want only app.yaml", got)
	}
}

func TestPackMaxSize(t *testing.T) {
	noise := make([]byte, 256<<10)
	_, _ = rand.Read(noise)
	dir := writeTree(t, map[string]string{"noise.bin": string(noise), "app.yaml": "app"})

	tests := []struct {
		name    string
		max     int64
		wantErr string
	}{
		{"unlimited", 0, ""},
		{"large enough", 1 << 20, ""},
		{"exceeded", 10 << 10, "artifact size exceeds the limit of 10240 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Pack(context.Background(), &buf, PackOptions{Dir: dir, MaxSize: tt.max})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Pack: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrSizeLimit) {
				t.Fatalf("error %v, want %q matching ErrSizeLimit", err, tt.wantErr)
			}
			if int64(buf.Len()) > tt.max {
				t.Errorf("wrote %d bytes, more than the limit %d", buf.Len(), tt.max)
			}
		})
	}
}

func TestPackIncludes(t *testing.T) {
	main := writeTree(t, map[string]string{
		"app.yaml":        "main",
		"vendor/old.yaml": "hidden by the include",
		"notes.md":        "md",
		"file":            "a file",
	})
	other := writeTree(t, map[string]string{
		"deploy/kubernetes/x.yaml":     "x",
		"deploy/kubernetes/sub/y.yaml": "y",
		"deploy/kubernetes/doc.md":     "md",
		"deploy/kubernetes/up":         "@link:../../../outside.yaml",
		"deploy/kubernetes/to-main":    "@link:../../app.yaml",
		"outside.yaml":                 "not selected",
	})
	third := writeTree(t, map[string]string{"lib.yaml": "lib"})

	tests := []struct {
		name     string
		includes []Tree
		ignore   string
		want     []string
		wantErr  string
	}{
		{
			name:     "fromPath mounted at toPath",
			includes: []Tree{{Dir: other, FromPath: "deploy/kubernetes/sub", ToPath: "base/app"}},
			want:     []string{"app.yaml", "base", "base/app", "base/app/y.yaml", "file", "notes.md", "vendor", "vendor/old.yaml"},
		},
		{
			name:     "include replaces a directory and ignore rules apply to it",
			includes: []Tree{{Dir: third, ToPath: "vendor"}, {Dir: other, FromPath: "deploy/kubernetes/sub", ToPath: "vendor/more"}},
			ignore:   "*.md\n",
			want:     []string{"app.yaml", "file", "vendor", "vendor/lib.yaml", "vendor/more", "vendor/more/y.yaml"},
		},
		{
			name:     "symlink leaving the include refused",
			includes: []Tree{{Dir: other, FromPath: "deploy", ToPath: "inc"}},
			wantErr:  "symlink inc/kubernetes/up ",
		},
		{"toPath outside", []Tree{{Dir: third, ToPath: "../x"}}, "", nil, "invalid toPath"},
		{"toPath root", []Tree{{Dir: third, ToPath: "."}}, "", nil, "invalid toPath"},
		{"fromPath outside", []Tree{{Dir: third, FromPath: "../..", ToPath: "x"}}, "", nil, "invalid fromPath"},
		{"fromPath missing", []Tree{{Dir: third, FromPath: "nope", ToPath: "x"}}, "", nil, "open fromPath"},
		{"toPath under a file", []Tree{{Dir: third, ToPath: "file/x"}}, "", nil, "conflicts with a non-directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Pack(context.Background(), &buf, PackOptions{Dir: main, Includes: tt.includes, Ignore: tt.ignore})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			if got := entryNames(readArchive(t, buf.Bytes())); !slices.Equal(got, tt.want) {
				t.Errorf("entries\n got %q\nwant %q", got, tt.want)
			}
		})
	}

	// A link from the include into the main tree stays inside the artifact.
	data, _ := packBytes(t, PackOptions{Dir: main, Includes: []Tree{{Dir: other, FromPath: "deploy", ToPath: "inc"}}, Ignore: "up\n"})
	found := false
	for _, e := range readArchive(t, data) {
		if e.Name == "inc/kubernetes/to-main" {
			found = e.Type == tar.TypeSymlink && e.Link == "../../app.yaml"
		}
	}
	if !found {
		t.Error("symlink inc/kubernetes/to-main -> ../../app.yaml missing")
	}
}

func TestPackHonoursCancellation(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.yaml": "a", "b/c.yaml": "c"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Pack(ctx, &bytes.Buffer{}, PackOptions{Dir: dir})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestPackMissingDir(t *testing.T) {
	_, err := Pack(context.Background(), &bytes.Buffer{}, PackOptions{Dir: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "open source tree") {
		t.Fatalf("error %v, want one about opening the tree", err)
	}
}

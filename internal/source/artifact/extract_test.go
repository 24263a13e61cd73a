package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractRoundTrip(t *testing.T) {
	s := newStorage(t)
	src := writeTree(t, map[string]string{
		"deploy/app.yaml":  "app",
		"deploy/run.sh":    "@exec:#!/bin/sh",
		"deploy/alias.yml": "@link:app.yaml",
		"empty":            "@dir",
	})
	st, err := s.Store(context.Background(), "GitRepository", "default", "app", packDir(src))
	must(t, err)

	dst := filepath.Join(t.TempDir(), "unpacked")
	must(t, s.Extract(context.Background(), st.Path, dst))
	got, err := os.ReadFile(filepath.Join(dst, "deploy/alias.yml"))
	must(t, err)
	if string(got) != "app" {
		t.Errorf("deploy/alias.yml via symlink = %q", got)
	}
	if target, err := os.Readlink(filepath.Join(dst, "deploy/alias.yml")); err != nil || target != "app.yaml" {
		t.Errorf("deploy/alias.yml is not the symlink to app.yaml: %q, %v", target, err)
	}
	info, err := os.Stat(filepath.Join(dst, "deploy/run.sh"))
	must(t, err)
	if info.Mode().Perm() != 0o700 {
		t.Errorf("run.sh mode %v, want 0700", info.Mode().Perm())
	}
	if info, err := os.Stat(filepath.Join(dst, "empty")); err != nil || !info.IsDir() {
		t.Errorf("empty directory missing: %v", err)
	}

	// Unpacked and packed again, the artifact is byte for byte the same.
	repacked, _ := packBytes(t, PackOptions{Dir: dst})
	original, err := os.ReadFile(filepath.Join(s.Root, st.Path))
	must(t, err)
	if !bytes.Equal(repacked, original) {
		t.Error("pack(extract(artifact)) differs from the artifact")
	}

	if err := s.Extract(context.Background(), "../"+st.Path, dst); err == nil {
		t.Error("Extract accepted a path leaving the storage")
	}
}

// TestExtractRefusesTraversal_GHSA_g687_f2gx_6wm8 feeds Unpack hostile
// archives: nothing may land outside the destination.
func TestExtractRefusesTraversal_GHSA_g687_f2gx_6wm8(t *testing.T) {
	tests := []struct {
		name    string
		members []entry
		wantErr string
	}{
		{"parent", []entry{{Name: "../evil", Type: tar.TypeReg, Body: "x"}}, `"../evil"`},
		{"absolute", []entry{{Name: "/tmp/evil", Type: tar.TypeReg, Body: "x"}}, `"/tmp/evil"`},
		{"climbs through a directory", []entry{{Name: "a/../../evil", Type: tar.TypeReg, Body: "x"}}, `"a/../../evil"`},
		{"directory outside", []entry{{Name: "../evil-dir/", Type: tar.TypeDir}}, `"../evil-dir/"`},
		{"symlink absolute", []entry{{Name: "etc", Type: tar.TypeSymlink, Link: "/etc"}}, `"etc"`},
		{"symlink parent", []entry{{Name: "sub/up", Type: tar.TypeSymlink, Link: "../../.."}}, `"sub/up"`},
		{
			name: "write through a symlink",
			members: []entry{
				{Name: "out", Type: tar.TypeSymlink, Link: ".."},
				{Name: "out/evil", Type: tar.TypeReg, Body: "x"},
			},
			wantErr: `"out"`,
		},
		{
			name: "symlink chain escaping only when followed",
			members: []entry{
				{Name: "x/y/root", Type: tar.TypeSymlink, Link: "../.."},
				{Name: "e", Type: tar.TypeSymlink, Link: "x/y/root/../evil"},
			},
			wantErr: `"e"`,
		},
		{"hard link", []entry{{Name: "passwd", Type: tar.TypeLink, Link: "/etc/passwd"}}, "hard links are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "dst")
			err := Unpack(context.Background(), bytes.NewReader(craftArchive(t, tt.members)), dst, Limits{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
			}
			entries, err := os.ReadDir(parent)
			must(t, err)
			if len(entries) != 1 || entries[0].Name() != "dst" {
				t.Errorf("something was written next to the destination: %v", entries)
			}
			must(t, filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
				must(t, err)
				if d.Type()&os.ModeSymlink != 0 {
					t.Errorf("symlink %s left behind after a refused archive", p)
				}
				return nil
			}))
		})
	}
}

// TestExtractRefusesOversizedArchive_GHSA_g687_f2gx_6wm8 unpacks small
// archives that expand far beyond the limits: one file of too much
// content, too many files of little content. Tar headers do not count
// against the content limit: a checkout of 100,000 small files (a
// repository of 10,000 apps) unpacks within the content it holds.
func TestExtractRefusesOversizedArchive_GHSA_g687_f2gx_6wm8(t *testing.T) {
	zeros := strings.Repeat("\x00", 8<<20)
	manySmall := func(n int) []entry {
		var es []entry
		for i := range n {
			es = append(es, entry{Name: fmt.Sprintf("%s/%04d-%s", strings.Repeat("d", 90), i, strings.Repeat("f", i%50)), Type: tar.TypeReg, Body: "x"})
		}
		return es
	}
	limits := Limits{Bytes: 1 << 20, Entries: 1000}
	tests := []struct {
		name    string
		members []entry
		want    string
	}{
		{"one large file", []entry{{Name: "bomb", Type: tar.TypeReg, Body: zeros}}, "exceeds the limit of 1048576 bytes"},
		{"many small files", manySmall(2000), "more than 1000 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := craftArchive(t, tt.members)
			dst := t.TempDir()
			err := Unpack(context.Background(), bytes.NewReader(archive), dst, limits)
			if !errors.Is(err, ErrSizeLimit) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want the limit (%s; archive is %d bytes)", err, tt.want, len(archive))
			}
			var written int64
			files := 0
			must(t, filepath.WalkDir(dst, func(_ string, d os.DirEntry, err error) error {
				must(t, err)
				if info, _ := d.Info(); d.Type().IsRegular() {
					written += info.Size()
					files++
				}
				return nil
			}))
			if written > limits.Bytes || files > limits.Entries {
				t.Errorf("wrote %d bytes in %d files, more than the limits %+v", written, files, limits)
			}
		})
	}
	t.Run("headers do not count as content", func(t *testing.T) {
		// 900 entries: their headers alone (512 bytes each, more for the
		// long names) are several times the 64 KiB content limit.
		archive := craftArchive(t, manySmall(900))
		if err := Unpack(context.Background(), bytes.NewReader(archive), t.TempDir(), Limits{Bytes: 64 << 10, Entries: 1000}); err != nil {
			t.Errorf("900 one-byte files within a 64 KiB content limit: %v", err)
		}
	})

	s := newStorage(t)
	s.MaxExtractSize = limits.Bytes
	st, err := s.Store(context.Background(), "GitRepository", "default", "bomb", bytesPacker(string(craftArchive(t, tests[0].members))))
	must(t, err)
	if err := s.Extract(context.Background(), st.Path, t.TempDir()); !errors.Is(err, ErrSizeLimit) {
		t.Errorf("Storage.Extract: %v, want the size limit", err)
	}
	s.MaxExtractSize, s.MaxExtractEntries = 0, 1000
	st, err = s.Store(context.Background(), "GitRepository", "default", "many", bytesPacker(string(craftArchive(t, tests[1].members))))
	must(t, err)
	if err := s.Extract(context.Background(), st.Path, t.TempDir()); !errors.Is(err, ErrSizeLimit) {
		t.Errorf("Storage.Extract of 2,000 entries with MaxExtractEntries 1,000: %v, want the limit", err)
	}
}

func TestUnpackHonoursCancellation(t *testing.T) {
	archive := craftArchive(t, []entry{{Name: "a", Type: tar.TypeReg, Body: "a"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Unpack(ctx, bytes.NewReader(archive), t.TempDir(), Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if err := Unpack(context.Background(), strings.NewReader("not gzip"), t.TempDir(), Limits{}); err == nil {
		t.Error("Unpack accepted a stream that is not gzip")
	}
}

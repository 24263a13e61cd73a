package ocirepository

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/source/artifact"
)

// layer is a tar.gz of entries; a content starting with "->" makes a
// symlink to the rest.
func layer(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		if target, ok := strings.CutPrefix(e[1], "->"); ok {
			hdr = &tar.Header{Name: e[0], Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: target}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExtractRefusesHostileLayers: a layer is whatever the registry
// serves. Entries leaving the folder, symlinks leading out and archives
// over the storage's limits fail the artifact; nothing is written outside
// and nothing is stored.
func TestExtractRefusesHostileLayers(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name    string
		entries [][2]string
		wantErr bool
		sizeErr bool
	}{
		{name: "plain", entries: [][2]string{{"deploy/cm.yaml", "kind: ConfigMap\n"}}},
		{name: "dot dot", entries: [][2]string{{"../escaped.yaml", "x"}}, wantErr: true},
		{name: "absolute", entries: [][2]string{{outside + "/abs.yaml", "x"}}, wantErr: true},
		{name: "symlink out", entries: [][2]string{{"link", "->" + outside}}, wantErr: true},
		{name: "symlink up", entries: [][2]string{{"a/link", "->../../.."}}, wantErr: true},
		{name: "write through a symlink", entries: [][2]string{{"d", "->" + outside}, {"d/through.yaml", "x"}}, wantErr: true},
		{name: "too large", entries: [][2]string{{"big", strings.Repeat("0", 2048)}}, wantErr: true, sizeErr: true},
		{name: "too many entries", entries: [][2]string{{"1", ""}, {"2", ""}, {"3", ""}, {"4", ""}, {"5", ""}}, wantErr: true, sizeErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storage, err := artifact.NewStorage(t.TempDir(), "http://127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			storage.MaxExtractSize, storage.MaxExtractEntries = 1024, 4
			r := &Reconciler{Storage: storage}
			obj := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}}
			stored, err := r.extract(context.Background(), obj, bytes.NewReader(layer(t, tt.entries)))
			if !tt.wantErr {
				if err != nil || !storage.Exists(stored.Path) {
					t.Fatalf("stored %+v, %v", stored, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("a hostile layer was stored: %+v", stored)
			}
			if tt.sizeErr && !errors.Is(err, artifact.ErrSizeLimit) {
				t.Errorf("error %v is not a size limit", err)
			}
			if left, _ := os.ReadDir(outside); len(left) > 0 {
				t.Errorf("written outside: %v", left)
			}
			if matches, _ := filepath.Glob(filepath.Join(storage.Root, "ocirepository", "ns", "app", "*.tar.gz")); len(matches) > 0 {
				t.Errorf("stored %v", matches)
			}
		})
	}
}

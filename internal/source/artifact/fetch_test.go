package artifact

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFetchFromAPeer: a replica that did not produce an artifact downloads
// it from the one that did, over HTTP, and keeps it only when its digest
// and path are the ones asked for.
func TestFetchFromAPeer(t *testing.T) {
	ctx := context.Background()
	producer := newStorage(t)
	srv := httptest.NewServer(producer.Handler())
	defer srv.Close()
	producer.BaseURL = srv.URL
	a, err := producer.Store(ctx, "GitRepository", "flux-system", "podinfo", packDir(writeTree(t, map[string]string{"app.yaml": "x"})))
	must(t, err)

	consumer := newStorage(t)
	if consumer.Exists(a.Path) {
		t.Fatal("the consumer has the artifact before fetching it")
	}
	must(t, consumer.Fetch(ctx, a.Path, a.URL, a.Digest))
	if !consumer.Exists(a.Path) {
		t.Fatal("fetched, but not stored at the artifact's path")
	}
	dst := t.TempDir()
	must(t, consumer.Extract(ctx, a.Path, dst))
	// Fetching what is there is free: the producer may be gone.
	srv.Close()
	must(t, consumer.Fetch(ctx, a.Path, a.URL, a.Digest))

	srv2 := httptest.NewServer(producer.Handler())
	defer srv2.Close()
	url2 := strings.Replace(a.URL, srv.URL, srv2.URL, 1)
	tests := []struct{ name, path, url, digest, want string }{
		{"another digest", a.Path, url2, "sha256:" + strings.Repeat("0", 64), "digest"},
		{"a path outside the layout", "../" + a.Path, url2, a.Digest, "not a stored artifact's path"},
		{"a file URL", a.Path, "file:///etc/passwd", a.Digest, "invalid URL"},
		{"a missing artifact", strings.Replace(a.Path, "podinfo", "other", 1), strings.Replace(url2, "podinfo", "other", 1), a.Digest, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStorage(t)
			err := s.Fetch(ctx, tt.path, tt.url, tt.digest)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Fetch: %v, want an error containing %q", err, tt.want)
			}
			if s.Exists(a.Path) {
				t.Error("a refused download was kept")
			}
		})
	}
}

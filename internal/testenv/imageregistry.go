package testenv

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ImageRegistry is an in-memory OCI registry (go-containerregistry's) on
// loopback, over plain HTTP, for image scanning tests.
type ImageRegistry struct {
	// Host is "127.0.0.1:<port>".
	Host string

	mu       sync.Mutex
	requests int
}

// NewImageRegistry starts a registry that stops with the test.
func NewImageRegistry(t testing.TB) *ImageRegistry {
	t.Helper()
	r := &ImageRegistry{}
	handler := ggcrregistry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests++
		r.mu.Unlock()
		handler.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// Push writes a small random image as repo:tag and returns its digest.
func (r *ImageRegistry) Push(t testing.TB, repo, tag string) string {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// Requests counts the requests served so far.
func (r *ImageRegistry) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

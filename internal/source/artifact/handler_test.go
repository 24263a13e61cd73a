package artifact

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestHandler(t *testing.T) {
	s := newStorage(t)
	src := writeTree(t, map[string]string{"deploy/app.yaml": "app"})
	st, err := s.Store(context.Background(), "GitRepository", "default", "app", packDir(src))
	must(t, err)
	body, err := os.ReadFile(filepath.Join(s.Root, st.Path))
	must(t, err)

	outside := filepath.Join(t.TempDir(), "secret.tar.gz")
	must(t, os.WriteFile(outside, []byte("secret"), 0o600))
	must(t, os.Symlink(outside, filepath.Join(s.Root, "gitrepository/default/app/escape.tar.gz")))
	must(t, os.WriteFile(filepath.Join(s.Root, "gitrepository/default/app", tempPrefix+"123"), []byte("partial"), 0o600))

	tests := []struct {
		name     string
		method   string
		target   string
		wantCode int
		wantBody bool
	}{
		{"stored artifact", http.MethodGet, "/" + st.Path, http.StatusOK, true},
		{"head", http.MethodHead, "/" + st.Path, http.StatusOK, false},
		{"post", http.MethodPost, "/" + st.Path, http.StatusMethodNotAllowed, false},
		{"delete", http.MethodDelete, "/" + st.Path, http.StatusMethodNotAllowed, false},
		{"root listing", http.MethodGet, "/", http.StatusNotFound, false},
		{"directory listing", http.MethodGet, "/gitrepository/default/app/", http.StatusNotFound, false},
		{"directory without slash", http.MethodGet, "/gitrepository/default/app", http.StatusNotFound, false},
		{"traversal", http.MethodGet, "/../../../../etc/passwd", http.StatusNotFound, false},
		{"traversal inside path", http.MethodGet, "/gitrepository/../gitrepository/default/app/x", http.StatusNotFound, false},
		{"encoded traversal", http.MethodGet, "/%2e%2e/%2e%2e/etc/passwd", http.StatusNotFound, false},
		{"symlink leaving root", http.MethodGet, "/gitrepository/default/app/escape.tar.gz", http.StatusNotFound, false},
		{"artifact being written", http.MethodGet, "/gitrepository/default/app/" + tempPrefix + "123", http.StatusNotFound, false},
		{"missing", http.MethodGet, "/gitrepository/default/app/nope.tar.gz", http.StatusNotFound, false},
	}
	h := s.Handler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.wantCode, rec.Body.String())
			}
			if tt.wantCode == http.StatusOK {
				if ct := rec.Header().Get("Content-Type"); ct != "application/gzip" {
					t.Errorf("Content-Type %q, want application/gzip", ct)
				}
			}
			if tt.wantBody && rec.Body.String() != string(body) {
				t.Error("body differs from the stored file")
			}
			if !tt.wantBody && tt.wantCode == http.StatusOK && rec.Body.Len() != 0 {
				t.Error("HEAD answered with a body")
			}
			if tt.wantCode == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
}

// TestHandlerOverHTTP downloads an artifact through a real listener the way
// a consumer does, and unpacks it.
func TestHandlerOverHTTP(t *testing.T) {
	s := newStorage(t)
	src := writeTree(t, map[string]string{"deploy/app.yaml": "app"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	s.BaseURL = srv.URL
	st, err := s.Store(context.Background(), "GitRepository", "default", "app", packDir(src))
	must(t, err)

	resp, err := http.Get(st.URL)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", st.URL, resp.Status)
	}
	dst := t.TempDir()
	must(t, Unpack(context.Background(), resp.Body, dst, Limits{}))
	got, err := os.ReadFile(filepath.Join(dst, "deploy/app.yaml"))
	must(t, err)
	if string(got) != "app" {
		t.Errorf("downloaded deploy/app.yaml = %q", got)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}

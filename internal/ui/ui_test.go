package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	built := handler(fstest.MapFS{
		"index.html":       {Data: []byte("<!doctype html><div id=app></div>")},
		"assets/app-1.js":  {Data: []byte("console.log(1)")},
		"favicon.svg":      {Data: []byte("<svg/>")},
		".keep":            {},
		"assets/style.css": {Data: []byte("body{}")},
	})
	empty := handler(fstest.MapFS{".keep": {}})
	for _, tc := range []struct {
		name, method, path string
		h                  http.Handler
		code               int
		body, cache        string
	}{
		{"the app at /", "GET", "/", built, 200, "id=app", "no-cache"},
		{"the app's own links load the app", "GET", "/applications/argocd/guestbook", built, 200, "id=app", "no-cache"},
		{"a built asset, cached for good", "GET", "/assets/app-1.js", built, 200, "console.log", "immutable"},
		{"a missing asset is not the app", "GET", "/assets/gone.js", built, 404, "not found", ""},
		{"a file at the top", "GET", "/favicon.svg", built, 200, "<svg/>", ""},
		{"hidden files are not served", "GET", "/.keep", built, 200, "id=app", "no-cache"},
		{"a climb stays inside", "GET", "/../../etc/passwd", built, 200, "id=app", "no-cache"},
		{"only reads", "POST", "/", built, 405, "method not allowed", ""},
		{"a binary without the UI says how to build it", "GET", "/", empty, 503, "make build", "no-cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
			}
			if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, tc.cache) {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if tc.code != 405 && rec.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("no Content-Security-Policy")
			}
		})
	}
}

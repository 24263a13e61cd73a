package helm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CVE-2021-32690: when a repository redirects to another host, that host
// does not receive the repository's credentials (unless passCredentials).
func TestCredentialsAreNotForwardedOnRedirect(t *testing.T) {
	for _, pass := range []bool{false, true} {
		var got string
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("Authorization")
			_, _ = w.Write([]byte("apiVersion: v1\nentries: {}\n"))
		}))
		repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, other.URL+"/index.yaml", http.StatusFound)
		}))
		c := &Client{}
		_, err := c.FetchIndex(context.Background(), repo.URL, &Auth{Username: "user", Password: "secret", PassCredentials: pass})
		repo.Close()
		other.Close()
		if err != nil {
			t.Fatalf("pass=%v: %v", pass, err)
		}
		if pass != (got != "") {
			t.Errorf("passCredentials=%v: the other host got Authorization %q", pass, got)
		}
	}
}

// GHSA-jhwx-mhww-rgc3: an index larger than the limit is refused without
// reading it all.
func TestIndexSizeIsCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("apiVersion: v1\nentries:\n"))
		for range 1 << 12 {
			_, _ = w.Write([]byte(strings.Repeat("#", 1024) + "\n"))
		}
	}))
	defer srv.Close()
	c := &Client{MaxIndexSize: 64 << 10}
	_, err := c.FetchIndex(context.Background(), srv.URL, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("err = %v, want the size limit", err)
	}
}

// CVE-2022-36049: hostile --set style parameters are bounded: a huge list
// index is an error, quickly, not an allocation of gigabytes.
func TestParametersAreBounded(t *testing.T) {
	start := time.Now()
	err := SetValue(map[string]any{}, "a[2147483647]", "x", false)
	if err == nil {
		t.Fatal("a list index of 2^31 was accepted")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

// CVE-2022-24348, CVE-2022-31036, GHSA-h6h5-6fmq-rh28: a chart read from a
// checkout cannot reach files outside it through symbolic links, while a
// link that stays inside keeps working (argo-cd#8379).
func TestChartFilesStayInsideTheCheckout(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkout := t.TempDir()
	chart := filepath.Join(checkout, "chart")
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(chart, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Chart.yaml", "apiVersion: v2\nname: leaky\nversion: 1.0.0\n")
	write("shared/inside.txt", "inside-text")
	write("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  inside: {{ .Files.Get \"inside.txt\" | quote }}\n  outside: {{ .Files.Get \"leak.txt\" | quote }}\n")
	if err := os.Symlink("shared/inside.txt", filepath.Join(chart, "inside.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(chart, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(checkout)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	_, err = LoadDir(root, "chart")
	if err == nil {
		t.Fatal("a chart with a link leaving the checkout was loaded")
	}
	if strings.Contains(err.Error(), "outside-secret") {
		t.Errorf("the error shows the outside file: %v", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("err = %v, want ErrInvalid", err)
	}
	// The same chart without the outside link loads, and the inside link
	// is followed.
	if err := os.Remove(filepath.Join(chart, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	ch, err := LoadDir(root, "chart")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Template(context.Background(), ch, TemplateOptions{ReleaseName: "r", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `inside: "inside-text"`) {
		t.Errorf("the link inside the checkout was not followed:\n%s", out)
	}
	for _, p := range []string{"../outside", "/etc", "chart/../../x"} {
		if _, err := LoadDir(root, p); err == nil {
			t.Errorf("chart path %q outside the checkout was accepted", p)
		}
	}
}

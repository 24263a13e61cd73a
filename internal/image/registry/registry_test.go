package registry

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// serve starts an in-memory registry on loopback that asks for basic
// auth user:pass when user is set; it returns its host.
func serve(t *testing.T, user, pass string) string {
	t.Helper()
	reg := ggcrregistry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); user != "" && (!ok || u != user || p != pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// push writes a random image as repo:tag and returns its digest.
func push(t *testing.T, host, repo, tag string, auth authn.Authenticator) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestScanThroughARewrite: the seed's "stefanprodan/podinfo" is read from
// a loopback mirror with credentials from a dockerconfigjson written for
// Docker Hub; the canonical name stays Docker Hub's.
func TestScanThroughARewrite(t *testing.T) {
	host := serve(t, "bot", "s3cret")
	auth := &authn.Basic{Username: "bot", Password: "s3cret"}
	var want string
	for _, tag := range []string{"6.0.0", "6.0.1", "6.1.0"} {
		want = push(t, host, "stefanprodan/podinfo", tag, auth)
	}
	s := &Scanner{Rewrite: func(u string) string {
		return strings.Replace(u, "oci://index.docker.io/", "oci://"+host+"/", 1)
	}}
	cfg := `{"auths":{"https://index.docker.io/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("bot:s3cret")) + `"}}}`
	opts := Options{DockerConfigJSON: []byte(cfg), Insecure: true}
	res, err := s.Tags(context.Background(), "stefanprodan/podinfo", opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Canonical != "index.docker.io/stefanprodan/podinfo" || !slices.Equal(res.Tags, []string{"6.0.0", "6.0.1", "6.1.0"}) {
		t.Errorf("scan = %+v", res)
	}
	got, err := s.Digest(context.Background(), "stefanprodan/podinfo", "6.1.0", opts)
	if err != nil || got != want {
		t.Errorf("digest %q (err %v), want %s", got, err, want)
	}
	// Without the credentials the registry refuses, and the error says so
	// without any secret.
	_, err = s.Tags(context.Background(), "stefanprodan/podinfo", Options{Insecure: true})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("anonymous scan: %v, want a refusal", err)
	}
}

func TestDockerConfigFor(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cfg, err := ParseDockerConfig([]byte(`{"auths":{
		"ghcr.io":{"username":"u1","password":"p1"},
		"https://registry.example.com/v2/":{"auth":"` + b64("u2:p2") + `"},
		"docker.io":{"auth":"` + b64("u3:p:3") + `"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ host, user, pass string }{
		{"ghcr.io", "u1", "p1"},
		{"registry.example.com", "u2", "p2"},
		{"index.docker.io", "u3", "p:3"},
		{"quay.io", "", ""},
	}
	for _, tt := range tests {
		a, ok := cfg.For(tt.host)
		if ok != (tt.user != "") || a.Username != tt.user || a.Password != tt.pass {
			t.Errorf("For(%s) = %q/%q %v, want %q/%q", tt.host, a.Username, a.Password, ok, tt.user, tt.pass)
		}
	}
	for _, bad := range []string{`{`, `{"auths":{"x":{"auth":"!!"}}}`, `{"auths":{"x":{"auth":"` + b64("nocolon") + `"}}}`} {
		if _, err := ParseDockerConfig([]byte(bad)); err == nil {
			t.Errorf("ParseDockerConfig(%s): no error", bad)
		}
	}
}

func FuzzParseDockerConfig(f *testing.F) {
	f.Add([]byte(`{"auths":{"ghcr.io":{"auth":"dTpw"}}}`))
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"username":"a","password":"b"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseDockerConfig(data)
		if err != nil {
			if strings.Contains(err.Error(), string(data)) && len(data) > 8 {
				t.Fatalf("the error quotes the data: %v", err)
			}
			return
		}
		for host := range cfg.Auths {
			_, _ = cfg.For(host)
		}
	})
}

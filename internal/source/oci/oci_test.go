package oci

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/tether-gitops/tether/internal/source/artifact"
)

// testRegistry starts go-containerregistry's registry on loopback; with a
// user name, every request needs these basic credentials.
func testRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); user != "" && (!ok || u != user || p != pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// buildDir packs files (name -> content) with Build.
func buildDir(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := Build(context.Background(), &buf, BuildOptions{Path: dir}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func push(t *testing.T, c *Client, url, tag string, files map[string]string, opts Options) Pushed {
	t.Helper()
	p, err := c.Push(context.Background(), url, tag, buildDir(t, files),
		Metadata{Source: "https://git.example.com/app.git", Revision: "main@sha1:abc", Created: time.Unix(0, 0)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPushResolvePull(t *testing.T) {
	ctx := context.Background()
	host := testRegistry(t, "", "")
	c := &Client{}
	url := "oci://" + host + "/manifests/app"
	p := push(t, c, url, "1.0.0", map[string]string{"deploy/cm.yaml": "kind: ConfigMap\n"}, Options{})
	if p.URL() != url+"@"+p.Digest {
		t.Errorf("URL() = %s", p.URL())
	}
	res, err := c.Resolve(ctx, url, Ref{Tag: "1.0.0"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != p.Digest || res.Revision != "1.0.0@"+p.Digest {
		t.Fatalf("Resolve = %+v, pushed %s", res, p.Digest)
	}
	a, err := c.Pull(ctx, url, res.Digest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{AnnotationSource: "https://git.example.com/app.git", AnnotationRevision: "main@sha1:abc", AnnotationCreated: "1970-01-01T00:00:00Z"}
	for k, v := range want {
		if a.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, a.Annotations[k], v)
		}
	}
	l, err := a.Layer(FluxContentMediaType)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.OpenLayer(ctx, a, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dst := t.TempDir()
	if err := artifact.Unpack(ctx, rc, dst, artifact.Limits{}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "deploy", "cm.yaml")); err != nil || string(data) != "kind: ConfigMap\n" {
		t.Fatalf("unpacked file = %q, %v", data, err)
	}
	// The same files give the same digest (a push is reproducible with a
	// fixed creation time).
	if again := push(t, c, url, "1.0.1", map[string]string{"deploy/cm.yaml": "kind: ConfigMap\n"}, Options{}); again.Digest != p.Digest {
		t.Errorf("second push of the same files: digest %s, want %s", again.Digest, p.Digest)
	}
}

func TestResolveReferences(t *testing.T) {
	ctx := context.Background()
	host := testRegistry(t, "", "")
	c := &Client{}
	url := "oci://" + host + "/app"
	digests := map[string]string{}
	for _, tag := range []string{"1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0", "latest", "v1.1.5", "not-semver"} {
		digests[tag] = push(t, c, url, tag, map[string]string{"f.yaml": "tag: " + tag + "\n"}, Options{}).Digest
	}
	tests := []struct {
		name    string
		ref     Ref
		wantTag string
		wantErr error
	}{
		{"empty is latest", Ref{}, "latest", nil},
		{"tag", Ref{Tag: "1.0.0"}, "1.0.0", nil},
		{"semver", Ref{SemVer: "1.x"}, "v1.1.5", nil},
		{"semver over tag", Ref{Tag: "1.0.0", SemVer: ">=2.0.0"}, "2.0.0", nil},
		{"semver with prereleases", Ref{SemVer: ">=1.2.0-0 <2.0.0"}, "1.2.0-rc.1", nil},
		{"semver filter", Ref{SemVer: "1.x", SemverFilter: `^1\.`}, "1.1.0", nil},
		{"no match", Ref{SemVer: ">=3.0.0"}, "", ErrNotFound},
		{"missing tag", Ref{Tag: "9.9.9"}, "", ErrNotFound},
		{"bad range", Ref{SemVer: "not a range"}, "", ErrInvalid},
		{"bad filter", Ref{SemVer: "1.x", SemverFilter: "("}, "", ErrInvalid},
		{"bad digest", Ref{Digest: "sha256:abc"}, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Resolve(ctx, url, tt.ref, Options{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Tag != tt.wantTag || res.Digest != digests[tt.wantTag] || res.Revision != tt.wantTag+"@"+digests[tt.wantTag] {
				t.Errorf("Resolve = %+v, want tag %s digest %s", res, tt.wantTag, digests[tt.wantTag])
			}
		})
	}
	t.Run("digest", func(t *testing.T) {
		d := digests["2.0.0"]
		res, err := c.Resolve(ctx, url, Ref{Digest: d, Tag: "1.0.0"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Tag != "" || res.Digest != d || res.Revision != d {
			t.Errorf("Resolve = %+v", res)
		}
	})
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	host := testRegistry(t, "flux", "s3cret")
	c := &Client{}
	url := "oci://" + host + "/private/app"
	push(t, c, url, "1.0.0", map[string]string{"a.yaml": "a: 1\n"}, Options{Username: "flux", Password: "s3cret"})
	dockerConfig := func(h, user, pass string) []byte {
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		return fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, h, auth)
	}
	tests := []struct {
		name    string
		opts    Options
		wantErr error
	}{
		{"anonymous", Options{}, ErrAuthentication},
		{"wrong password", Options{Username: "flux", Password: "wrong"}, ErrAuthentication},
		{"docker config", Options{DockerConfigJSON: dockerConfig(host, "flux", "s3cret")}, nil},
		{"docker config of another host", Options{DockerConfigJSON: dockerConfig("ghcr.io", "flux", "s3cret")}, ErrAuthentication},
		{"docker config with a wrong password", Options{DockerConfigJSON: dockerConfig(host, "flux", "nope")}, ErrAuthentication},
		{"not json", Options{DockerConfigJSON: []byte("{")}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Resolve(ctx, url, Ref{Tag: "1.0.0"}, tt.opts)
			if tt.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong")) {
				t.Errorf("error shows a credential: %v", err)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	ctx := context.Background()
	host := testRegistry(t, "", "")
	mirror := &Client{Rewrite: func(u string) string {
		return strings.Replace(u, "oci://ghcr.io/org/", "oci://"+host+"/mirror/", 1)
	}}
	p := push(t, &Client{}, "oci://"+host+"/mirror/app", "1.0.0", map[string]string{"a.yaml": "a: 1\n"}, Options{})
	res, err := mirror.Resolve(ctx, "oci://ghcr.io/org/app", Ref{Tag: "1.0.0"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != p.Digest {
		t.Errorf("digest %s, want %s", res.Digest, p.Digest)
	}
	_, err = mirror.Resolve(ctx, "oci://ghcr.io/org/app", Ref{Tag: "2.0.0"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "oci://ghcr.io/org/app (rewritten to oci://"+host+"/mirror/app)") {
		t.Errorf("error does not name the URL and its mirror: %v", err)
	}
}

func TestLayerSelection(t *testing.T) {
	a := &Artifact{Layers: []Layer{
		{MediaType: ImageLayerMediaType, Digest: "sha256:1"},
		{MediaType: HelmChartContentMediaType, Digest: "sha256:2"},
		{MediaType: HelmChartContentMediaType, Digest: "sha256:3"},
	}}
	tests := []struct {
		mediaType string
		want      string
		wantErr   error
	}{
		{"", "sha256:1", nil},
		{HelmChartContentMediaType, "sha256:2", nil},
		{FluxContentMediaType, "", ErrNotFound},
	}
	for _, tt := range tests {
		l, err := a.Layer(tt.mediaType)
		if !errors.Is(err, tt.wantErr) || l.Digest != tt.want {
			t.Errorf("Layer(%q) = %s, %v; want %s, %v", tt.mediaType, l.Digest, err, tt.want, tt.wantErr)
		}
	}
	if l, err := a.LayerOf([]string{FluxContentMediaType, HelmChartContentMediaType}); err != nil || l.Digest != "sha256:2" {
		t.Errorf("LayerOf = %s, %v", l.Digest, err)
	}
	if _, err := (&Artifact{}).Layer(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Layer of an artifact without layers: %v", err)
	}
}

func TestOpenLayerLimit(t *testing.T) {
	ctx := context.Background()
	host := testRegistry(t, "", "")
	c := &Client{}
	url := "oci://" + host + "/big"
	big := strings.Repeat("x", 64<<10)
	p := push(t, c, url, "1", map[string]string{"big.txt": big + fmt.Sprint(time.Now().UnixNano())}, Options{})
	a, err := c.Pull(ctx, url, p.Digest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := a.Layer("")
	if _, err := c.OpenLayer(ctx, a, l, Options{MaxLayerSize: l.Size - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a layer over the limit opened: %v", err)
	}
	rc, err := c.OpenLayer(ctx, a, l, Options{MaxLayerSize: l.Size})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n, err := io.Copy(io.Discard, rc); err != nil || n != l.Size {
		t.Errorf("read %d bytes, %v; want %d", n, err, l.Size)
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		in               string
		url, tag, digest string
		wantErr          bool
	}{
		{in: "oci://ghcr.io/org/app:v1", url: "oci://ghcr.io/org/app", tag: "v1"},
		{in: "oci://127.0.0.1:5000/app:1.0.0", url: "oci://127.0.0.1:5000/app", tag: "1.0.0"},
		{in: "oci://ghcr.io/org/app@sha256:" + strings.Repeat("a", 64), url: "oci://ghcr.io/org/app", digest: "sha256:" + strings.Repeat("a", 64)},
		{in: "oci://127.0.0.1:5000/app", wantErr: true},
		{in: "ghcr.io/org/app:v1", wantErr: true},
		{in: "oci://ghcr.io/org/app@sha256:abc", wantErr: true},
		{in: "oci://ghcr.io/org/App:v1", wantErr: true},
	}
	for _, tt := range tests {
		url, tag, digest, err := ParseReference(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseReference(%q) = %s %s %s, want an error", tt.in, url, tag, digest)
			}
			continue
		}
		if err != nil || url != tt.url || tag != tt.tag || digest != tt.digest {
			t.Errorf("ParseReference(%q) = %q %q %q %v", tt.in, url, tag, digest, err)
		}
	}
}

func TestParseManifest(t *testing.T) {
	d := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"oci manifest", `{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"x","digest":"` + d + `","size":3}]}`, false},
		{"index", `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, true},
		{"index without media type", `{"manifests":[{"digest":"` + d + `"}]}`, true},
		{"bad digest", `{"layers":[{"digest":"sha256:zz","size":1}]}`, true},
		{"negative size", `{"layers":[{"digest":"` + d + `","size":-1}]}`, true},
		{"not json", `{`, true},
	}
	for _, tt := range tests {
		if _, err := parseManifest([]byte(tt.in)); (err != nil) != tt.wantErr {
			t.Errorf("%s: error = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestBuildSingleFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"app.yaml", "other.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("n: "+n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := Build(context.Background(), &buf, BuildOptions{Path: filepath.Join(dir, "app.yaml")}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := artifact.Unpack(context.Background(), &buf, dst, artifact.Limits{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dst)
	if len(entries) != 1 || entries[0].Name() != "app.yaml" {
		t.Errorf("artifact holds %v, want app.yaml alone", entries)
	}
}

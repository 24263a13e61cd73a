package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/oci"
)

func registry(t *testing.T, user, pass string) string {
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

func manifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"app/cm.yaml": "kind: ConfigMap\n", "logo.png": "png", ".git/config": "secret"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "app.tgz")
	if err := RunBuild(context.Background(), BuildOptions{Path: manifests(t), Output: out, IgnorePaths: DefaultIgnorePaths}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := t.TempDir()
	if err := artifact.Unpack(context.Background(), f, dst, artifact.Limits{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"app/cm.yaml": true, "logo.png": false, ".git/config": false} {
		if _, err := os.Stat(filepath.Join(dst, name)); (err == nil) != want {
			t.Errorf("%s in the artifact: %v, want %v", name, err == nil, want)
		}
	}
	if err := RunBuild(context.Background(), BuildOptions{Output: out}); err == nil {
		t.Error("build without --path succeeded")
	}
}

func TestRunPushAndTag(t *testing.T) {
	ctx := context.Background()
	host := registry(t, "bot", "pw")
	ref := "oci://" + host + "/config/app:abc123"
	var out, errOut bytes.Buffer
	push := PushOptions{
		RegistryOptions: RegistryOptions{Creds: "bot:pw"},
		Reference:       ref, Path: manifests(t), Source: "https://github.com/org/app", Revision: "main@sha1:abc123",
		Annotations: []string{"org.opencontainers.image.description=demo"}, IgnorePaths: DefaultIgnorePaths,
		Reproducible: true, Output: "json", Out: &out, Err: &errOut,
	}
	if err := RunPush(ctx, push); err != nil {
		t.Fatal(err)
	}
	var res pushResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("-o json printed %q: %v", out.String(), err)
	}
	if res.Repository != host+"/config/app" || res.Tag != "abc123" || !strings.HasPrefix(res.Digest, "sha256:") ||
		res.URL != "oci://"+host+"/config/app@"+res.Digest {
		t.Errorf("result = %+v", res)
	}
	if !strings.Contains(errOut.String(), "artifact pushed to "+res.URL) {
		t.Errorf("messages: %q", errOut.String())
	}

	c := &oci.Client{}
	opts := oci.Options{Username: "bot", Password: "pw"}
	a, err := c.Pull(ctx, "oci://"+host+"/config/app", res.Digest, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{oci.AnnotationSource: "https://github.com/org/app", oci.AnnotationRevision: "main@sha1:abc123",
		oci.AnnotationCreated: "1970-01-01T00:00:00Z", "org.opencontainers.image.description": "demo"}
	for k, v := range want {
		if a.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, a.Annotations[k], v)
		}
	}
	if len(a.Layers) != 1 || a.Layers[0].MediaType != oci.FluxContentMediaType {
		t.Errorf("layers = %+v", a.Layers)
	}

	// A second reproducible push of the same files has the same digest.
	out.Reset()
	if err := RunPush(ctx, push); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), res.Digest) {
		t.Errorf("reproducible push changed the digest: %s", out.String())
	}

	if err := RunTag(ctx, TagOptions{RegistryOptions: RegistryOptions{Creds: "bot:pw"}, Reference: ref, Tags: []string{"latest", "v1"}}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"latest", "v1"} {
		r, err := c.Resolve(ctx, "oci://"+host+"/config/app", oci.Ref{Tag: tag}, opts)
		if err != nil || r.Digest != res.Digest {
			t.Errorf("tag %s: %+v, %v", tag, r, err)
		}
	}

	bad := push
	bad.Creds = "bot:wrong"
	if err := RunPush(ctx, bad); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("push with wrong credentials: %v", err)
	}
}

func TestRunPushRefusals(t *testing.T) {
	base := PushOptions{Reference: "oci://127.0.0.1:1/app:v1", Path: ".", Source: "s", Revision: "r"}
	tests := []struct {
		name   string
		modify func(*PushOptions)
	}{
		{"no tag", func(o *PushOptions) { o.Reference = "oci://127.0.0.1:1/app" }},
		{"digest", func(o *PushOptions) { o.Reference = "oci://127.0.0.1:1/app@sha256:" + strings.Repeat("a", 64) }},
		{"no scheme", func(o *PushOptions) { o.Reference = "127.0.0.1:1/app:v1" }},
		{"no path", func(o *PushOptions) { o.Path = "" }},
		{"no source", func(o *PushOptions) { o.Source = "" }},
		{"no revision", func(o *PushOptions) { o.Revision = "" }},
		{"bad output", func(o *PushOptions) { o.Output = "table" }},
		{"bad annotation", func(o *PushOptions) { o.Annotations = []string{"novalue"} }},
	}
	for _, tt := range tests {
		o := base
		tt.modify(&o)
		if err := RunPush(context.Background(), o); err == nil {
			t.Errorf("%s: push succeeded", tt.name)
		}
	}
}

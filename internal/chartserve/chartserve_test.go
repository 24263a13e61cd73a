package chartserve

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// podinfoDir is the test chart the tests publish.
var podinfoDir = filepath.Join("..", "..", "test", "e2e", "testdata", "charts", "podinfo")

// helmRepoClient downloads from a chart repository with Helm's own
// repository code (ChartRepository and the HTTP getter).
type helmRepoClient struct {
	entry repo.Entry
	cache string
}

// index downloads and parses index.yaml.
func (c helmRepoClient) index(t *testing.T) (*repo.IndexFile, error) {
	t.Helper()
	entry := c.entry
	cr, err := repo.NewChartRepository(&entry, getter.Getters())
	if err != nil {
		t.Fatalf("NewChartRepository: %v", err)
	}
	cr.CachePath = c.cache
	path, err := cr.DownloadIndexFile()
	if err != nil {
		return nil, err
	}
	return repo.LoadIndexFile(path)
}

// chart downloads the archive of name's version listed in index and loads
// it; it also returns the archive's bytes.
func (c helmRepoClient) chart(t *testing.T, index *repo.IndexFile, name, version string) (*chart.Chart, []byte) {
	t.Helper()
	cv, err := index.Get(name, version)
	if err != nil {
		t.Fatalf("index has no %s %s: %v", name, version, err)
	}
	if len(cv.URLs) != 1 {
		t.Fatalf("%s %s has URLs %v, want one", name, version, cv.URLs)
	}
	u, err := repo.ResolveReferenceURL(c.entry.URL, cv.URLs[0])
	if err != nil {
		t.Fatalf("resolve %s: %v", cv.URLs[0], err)
	}
	g, err := getter.Getters().ByScheme(strings.SplitN(u, ":", 2)[0])
	if err != nil {
		t.Fatalf("getter for %s: %v", u, err)
	}
	buf, err := g.Get(u,
		getter.WithURL(c.entry.URL),
		getter.WithBasicAuth(c.entry.Username, c.entry.Password),
		getter.WithTLSClientConfig("", "", c.entry.CAFile),
	)
	if err != nil {
		t.Fatalf("download %s: %v", u, err)
	}
	data := bytes.Clone(buf.Bytes())
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("load %s: %v", u, err)
	}
	return ch, data
}

func TestRepoServesHelmClients(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         RepoOptions
		absoluteURLs bool
	}{
		{name: "plain HTTP", opts: RepoOptions{}},
		{name: "basic auth", opts: RepoOptions{Username: "tether", Password: "s3cret"}},
		{name: "TLS", opts: RepoOptions{TLS: true}},
		{name: "TLS and basic auth, absolute URLs", opts: RepoOptions{TLS: true, Username: "tether", Password: "s3cret", AbsoluteURLs: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRepo(tc.opts)
			if err != nil {
				t.Fatalf("NewRepo: %v", err)
			}
			t.Cleanup(func() { _ = r.Close() })
			wantScheme := "http://"
			if tc.opts.TLS {
				wantScheme = "https://"
			}
			if !strings.HasPrefix(r.URL(), wantScheme+"127.0.0.1:") {
				t.Fatalf("URL() = %q, want %s127.0.0.1:PORT", r.URL(), wantScheme)
			}
			if got := len(r.CAPEM()) > 0; got != tc.opts.TLS {
				t.Fatalf("CAPEM() given = %v, want %v", got, tc.opts.TLS)
			}

			client := helmRepoClient{
				entry: repo.Entry{Name: "test", URL: r.URL(), Username: tc.opts.Username, Password: tc.opts.Password, CAFile: r.CAFile()},
				cache: t.TempDir(),
			}
			index, err := client.index(t)
			if err != nil {
				t.Fatalf("download the empty index: %v", err)
			}
			if len(index.Entries) != 0 {
				t.Fatalf("new repository lists %v, want nothing", index.Entries)
			}

			published, err := r.Publish(podinfoDir, "6.0.1")
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if published.Filename != "podinfo-6.0.1.tgz" || published.Name != "podinfo" || published.Version != "6.0.1" {
				t.Fatalf("Publish = %s %s in %s, want podinfo 6.0.1 in podinfo-6.0.1.tgz", published.Name, published.Version, published.Filename)
			}
			r.ResetRequests()

			index, err = client.index(t)
			if err != nil {
				t.Fatalf("download the index: %v", err)
			}
			cv, err := index.Get("podinfo", "6.0.1")
			if err != nil {
				t.Fatalf("index after Publish: %v", err)
			}
			if cv.AppVersion != "6.0.0" || cv.Digest != published.Digest {
				t.Errorf("index lists appVersion %q digest %q, want 6.0.0 and %q", cv.AppVersion, cv.Digest, published.Digest)
			}
			if wantAbs := tc.opts.AbsoluteURLs; strings.HasPrefix(cv.URLs[0], r.URL()+"/") != wantAbs {
				t.Errorf("index lists URL %q; absolute wanted: %v", cv.URLs[0], wantAbs)
			}
			ch, data := client.chart(t, index, "podinfo", "6.0.1")
			if !bytes.Equal(data, published.Data) {
				t.Errorf("downloaded archive differs from the published one")
			}
			if ch.Metadata.Version != "6.0.1" || ch.Metadata.AppVersion != "6.0.0" {
				t.Errorf("downloaded chart is version %q appVersion %q, want 6.0.1 and 6.0.0", ch.Metadata.Version, ch.Metadata.AppVersion)
			}
			assertPodinfo(t, ch)
			if got := r.Requests("/index.yaml"); got != 1 {
				t.Errorf("Requests(/index.yaml) = %d, want 1", got)
			}
			if got := r.Requests("/podinfo-6.0.1.tgz"); got != 1 {
				t.Errorf("Requests(/podinfo-6.0.1.tgz) = %d, want 1", got)
			}

			// A later version shows on the next download, first.
			if _, err := r.Publish(podinfoDir, "6.1.0"); err != nil {
				t.Fatalf("Publish 6.1.0: %v", err)
			}
			index, err = client.index(t)
			if err != nil {
				t.Fatalf("download the index again: %v", err)
			}
			if got := versions(index, "podinfo"); !slices.Equal(got, []string{"6.1.0", "6.0.1"}) {
				t.Errorf("index lists podinfo %v, want [6.1.0 6.0.1]", got)
			}
			if got := r.Requests("/index.yaml"); got != 2 {
				t.Errorf("Requests(/index.yaml) = %d, want 2", got)
			}
		})
	}
}

func TestRepoRefusesWrongCredentialsAndUnknownCA(t *testing.T) {
	r, err := NewRepo(RepoOptions{Username: "tether", Password: "s3cret", TLS: true})
	if err != nil {
		t.Fatalf("NewRepo: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if _, err := r.Publish(podinfoDir, ""); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	for _, tc := range []struct {
		name               string
		username, password string
		caFile             string
		wantErr            string // "" means success
	}{
		{name: "no credentials", caFile: r.CAFile(), wantErr: "401"},
		{name: "wrong password", username: "tether", password: "nope", caFile: r.CAFile(), wantErr: "401"},
		{name: "wrong user", username: "other", password: "s3cret", caFile: r.CAFile(), wantErr: "401"},
		{name: "unknown CA", username: "tether", password: "s3cret", wantErr: "certificate"},
		{name: "credentials and CA", username: "tether", password: "s3cret", caFile: r.CAFile()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := helmRepoClient{
				entry: repo.Entry{Name: "test", URL: r.URL(), Username: tc.username, Password: tc.password, CAFile: tc.caFile},
				cache: t.TempDir(),
			}
			index, err := client.index(t)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("download the index: %v", err)
				}
				if !index.Has("podinfo", "6.0.0") {
					t.Fatalf("index lists %v, want podinfo 6.0.0", versions(index, "podinfo"))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("download the index: err = %v, want one that mentions %q", err, tc.wantErr)
			}
		})
	}

	// Archives need the credentials too, not only the index.
	resp, err := r.HTTPClient().Get(r.URL() + "/podinfo-6.0.0.tgz")
	if err != nil {
		t.Fatalf("GET archive: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("GET archive without credentials: %s, WWW-Authenticate %q; want 401 with a Basic challenge", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestRepoRepublishAndRemove(t *testing.T) {
	dir := t.TempDir()
	r, err := NewRepo(RepoOptions{Dir: dir})
	if err != nil {
		t.Fatalf("NewRepo: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	client := helmRepoClient{entry: repo.Entry{Name: "test", URL: r.URL()}, cache: t.TempDir()}
	for _, v := range []string{"6.0.0", "6.0.1"} {
		if _, err := r.Publish(podinfoDir, v); err != nil {
			t.Fatalf("Publish %s: %v", v, err)
		}
	}

	// The same version again, with other default values, replaces the
	// first archive and its index entry.
	ch, err := Load(podinfoDir, "6.0.1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := SetValues(ch, []byte("replicaCount: 2\nui:\n  message: republished\n")); err != nil {
		t.Fatalf("SetValues: %v", err)
	}
	again, err := Package(ch)
	if err != nil {
		t.Fatalf("Package: %v", err)
	}
	if err := r.PublishArchive(again); err != nil {
		t.Fatalf("PublishArchive: %v", err)
	}
	index, err := client.index(t)
	if err != nil {
		t.Fatalf("download the index: %v", err)
	}
	if got := versions(index, "podinfo"); !slices.Equal(got, []string{"6.0.1", "6.0.0"}) {
		t.Fatalf("index lists podinfo %v, want [6.0.1 6.0.0]", got)
	}
	got, _ := client.chart(t, index, "podinfo", "6.0.1")
	if msg := got.Values["ui"].(map[string]any)["message"]; msg != "republished" {
		t.Errorf("republished chart has ui.message %v, want republished", msg)
	}

	if err := r.Remove("podinfo", "6.0.1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	index, err = client.index(t)
	if err != nil {
		t.Fatalf("download the index: %v", err)
	}
	if got := versions(index, "podinfo"); !slices.Equal(got, []string{"6.0.0"}) {
		t.Errorf("after Remove the index lists podinfo %v, want [6.0.0]", got)
	}
	resp, err := http.Get(r.URL() + "/podinfo-6.0.1.tgz")
	if err != nil {
		t.Fatalf("GET removed archive: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET removed archive: %s, want 404", resp.Status)
	}
	if err := r.Remove("podinfo", "9.9.9"); err == nil {
		t.Errorf("Remove of a version never published succeeded")
	}

	// A repository started again on the same folder serves what was there.
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.yaml")); err != nil {
		t.Fatalf("Close removed a folder it was given: %v", err)
	}
	r2, err := NewRepo(RepoOptions{Dir: dir})
	if err != nil {
		t.Fatalf("NewRepo again: %v", err)
	}
	t.Cleanup(func() { _ = r2.Close() })
	client.entry.URL = r2.URL()
	index, err = client.index(t)
	if err != nil {
		t.Fatalf("download the index of the second server: %v", err)
	}
	if got := versions(index, "podinfo"); !slices.Equal(got, []string{"6.0.0"}) {
		t.Errorf("second server lists podinfo %v, want [6.0.0]", got)
	}
}

func TestRepoRefusesOtherPathsAndMethods(t *testing.T) {
	r, err := NewRepo(RepoOptions{})
	if err != nil {
		t.Fatalf("NewRepo: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/index.yaml", http.StatusOK},
		{http.MethodHead, "/index.yaml", http.StatusOK},
		{http.MethodPost, "/index.yaml", http.StatusMethodNotAllowed},
		{http.MethodGet, "/missing-1.0.0.tgz", http.StatusNotFound},
		{http.MethodGet, "/ca.crt", http.StatusNotFound},
		{http.MethodGet, "/..%2findex.yaml", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tc.method, r.URL()+tc.path, nil)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %s, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}
}

func TestRegistryServesHelmRegistryClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts RegistryOptions
	}{
		{name: "plain HTTP", opts: RegistryOptions{}},
		{name: "basic auth", opts: RegistryOptions{Username: "tether", Password: "s3cret"}},
		{name: "TLS and basic auth", opts: RegistryOptions{TLS: true, Username: "tether", Password: "s3cret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g, err := NewRegistry(tc.opts)
			if err != nil {
				t.Fatalf("NewRegistry: %v", err)
			}
			t.Cleanup(func() { _ = g.Close() })
			if want := "oci://" + g.Host() + "/charts"; g.URL() != want || !strings.HasPrefix(g.Host(), "127.0.0.1:") {
				t.Fatalf("URL() = %q, Host() = %q; want %q on 127.0.0.1", g.URL(), g.Host(), want)
			}

			ref, digest, err := g.PushChart(ctx, podinfoDir, "6.0.1")
			if err != nil {
				t.Fatalf("PushChart: %v", err)
			}
			if want := g.URL() + "/podinfo:6.0.1"; ref != want {
				t.Errorf("PushChart ref = %q, want %q", ref, want)
			}
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("PushChart digest = %q, want sha256:...", digest)
			}
			if _, _, err := g.PushChart(ctx, podinfoDir, "6.1.0"); err != nil {
				t.Fatalf("PushChart 6.1.0: %v", err)
			}

			client, err := g.Client(ctx)
			if err != nil {
				t.Fatalf("Client: %v", err)
			}
			tags, err := client.Tags(g.Host() + "/charts/podinfo")
			if err != nil {
				t.Fatalf("Tags: %v", err)
			}
			if !slices.Equal(tags, []string{"6.1.0", "6.0.1"}) {
				t.Errorf("Tags = %v, want [6.1.0 6.0.1]", tags)
			}

			g.ResetRequests()
			pulled, err := client.Pull(ref)
			if err != nil {
				t.Fatalf("Pull %s: %v", ref, err)
			}
			if pulled.Manifest.Digest != digest {
				t.Errorf("pulled manifest %s, pushed %s", pulled.Manifest.Digest, digest)
			}
			ch, err := loader.LoadArchive(bytes.NewReader(pulled.Chart.Data))
			if err != nil {
				t.Fatalf("load the pulled chart: %v", err)
			}
			if ch.Metadata.Version != "6.0.1" || ch.Metadata.AppVersion != "6.0.0" {
				t.Errorf("pulled chart is version %q appVersion %q, want 6.0.1 and 6.0.0", ch.Metadata.Version, ch.Metadata.AppVersion)
			}
			assertPodinfo(t, ch)
			if got := g.Requests("/v2/charts/podinfo/manifests/6.0.1"); got < 1 {
				t.Errorf("Requests of the manifest = %d, want at least 1", got)
			}

			if tc.opts.Username == "" {
				return
			}
			// Without the right credentials the same client code is refused.
			for _, refused := range []struct {
				name    string
				opt     registry.ClientOption
				wantErr string
			}{
				{name: "no credentials", wantErr: "basic credential not found"},
				{name: "wrong password", opt: registry.ClientOptBasicAuth(tc.opts.Username, "nope"), wantErr: "401"},
			} {
				opts := []registry.ClientOption{
					registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")),
					registry.ClientOptHTTPClient(g.HTTPClient()),
				}
				if !tc.opts.TLS {
					opts = append(opts, registry.ClientOptPlainHTTP())
				}
				if refused.opt != nil {
					opts = append(opts, refused.opt)
				}
				stranger, err := registry.NewClient(opts...)
				if err != nil {
					t.Fatalf("NewClient: %v", err)
				}
				g.ResetRequests()
				if _, err := stranger.Pull(ref); err == nil || !strings.Contains(err.Error(), refused.wantErr) {
					t.Errorf("Pull with %s: err = %v, want one that mentions %q", refused.name, err, refused.wantErr)
				}
				if got := g.Requests("/v2/charts/podinfo/manifests/6.0.1"); got < 1 {
					t.Errorf("Pull with %s never asked for the manifest", refused.name)
				}
				if _, err := stranger.Tags(g.Host() + "/charts/podinfo"); err == nil {
					t.Errorf("Tags with %s succeeded", refused.name)
				}
			}
		})
	}
}

func TestRegistryPushEndsWithContext(t *testing.T) {
	g, err := NewRegistry(RegistryOptions{})
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := g.PushChart(ctx, podinfoDir, "6.0.1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("PushChart with a canceled context: err = %v, want context.Canceled", err)
	}
	if got := g.Requests("/v2/charts/podinfo/manifests/6.0.1"); got != 0 {
		t.Errorf("a canceled push reached the registry %d times", got)
	}
}

func TestCloseDoesNotWaitForIdleConnections(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func() (url string, close func() error, err error)
	}{
		{name: "repository", start: func() (string, func() error, error) {
			r, err := NewRepo(RepoOptions{TLS: true})
			if err != nil {
				return "", nil, err
			}
			return r.URL(), r.Close, nil
		}},
		{name: "registry", start: func() (string, func() error, error) {
			g, err := NewRegistry(RegistryOptions{})
			if err != nil {
				return "", nil, err
			}
			return "http://" + g.Host(), g.Close, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, closeServer, err := tc.start()
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			// A connection that never sends a request, like the spare ones
			// HTTP clients dial ahead.
			conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://"))
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			time.Sleep(50 * time.Millisecond) // let the server accept it
			start := time.Now()
			if err := closeServer(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Close took %s with an idle connection open, want well under 2s", took)
			}
			if err := closeServer(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestLoadAndPackage(t *testing.T) {
	for _, tc := range []struct {
		name, version, wantVersion string
		wantErr                    bool
	}{
		{name: "version from Chart.yaml", version: "", wantVersion: "6.0.0"},
		{name: "version overridden", version: "7.1.2-rc.1", wantVersion: "7.1.2-rc.1"},
		{name: "not semver", version: "latest", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := PackageDir(podinfoDir, tc.version)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("PackageDir(%q) succeeded, want an error", tc.version)
				}
				return
			}
			if err != nil {
				t.Fatalf("PackageDir: %v", err)
			}
			ch, err := loader.LoadArchive(bytes.NewReader(a.Data))
			if err != nil {
				t.Fatalf("load the archive: %v", err)
			}
			if ch.Metadata.Version != tc.wantVersion || a.Version != tc.wantVersion || a.Metadata.Version != tc.wantVersion {
				t.Errorf("archive version %q (Archive says %q, %q), want %q", ch.Metadata.Version, a.Version, a.Metadata.Version, tc.wantVersion)
			}
			if ch.Metadata.AppVersion != "6.0.0" {
				t.Errorf("appVersion %q, want 6.0.0", ch.Metadata.AppVersion)
			}
			if a.Filename != "podinfo-"+tc.wantVersion+".tgz" {
				t.Errorf("Filename %q", a.Filename)
			}
			assertPodinfo(t, ch)
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Errorf("Load of a missing folder succeeded")
	}
}

// TestHelmCLI pulls from both servers with the helm command that `make
// helm` builds (skipped when it is not built).
func TestHelmCLI(t *testing.T) {
	helm, err := filepath.Abs(filepath.Join("..", "..", ".local", "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(helm); err != nil {
		t.Skipf("no helm command at %s; `make helm` builds it", helm)
	}
	r, err := NewRepo(RepoOptions{TLS: true, Username: "tether", Password: "s3cret"})
	if err != nil {
		t.Fatalf("NewRepo: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if _, err := r.Publish(podinfoDir, "6.0.1"); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	g, err := NewRegistry(RegistryOptions{Username: "tether", Password: "s3cret"})
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := g.PushChart(ctx, podinfoDir, "6.0.2"); err != nil {
		t.Fatalf("PushChart: %v", err)
	}

	for _, tc := range []struct {
		name     string
		args     []string
		wantFile string
	}{
		{
			name:     "repository over TLS with basic auth",
			args:     []string{"pull", "podinfo", "--repo", r.URL(), "--version", "6.0.1", "--username", "tether", "--password", "s3cret", "--ca-file", r.CAFile()},
			wantFile: "podinfo-6.0.1.tgz",
		},
		{
			name:     "OCI registry with basic auth",
			args:     []string{"pull", g.URL() + "/podinfo", "--version", "6.0.2", "--plain-http", "--username", "tether", "--password", "s3cret"},
			wantFile: "podinfo-6.0.2.tgz",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, dest := t.TempDir(), t.TempDir()
			cmd := exec.CommandContext(ctx, helm, append(tc.args, "--destination", dest)...)
			cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
				"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"),
				"DOCKER_CONFIG="+filepath.Join(home, "docker"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(tc.args[:2], " "), err, out)
			}
			ch, err := loader.Load(filepath.Join(dest, tc.wantFile))
			if err != nil {
				t.Fatalf("load what helm pulled: %v", err)
			}
			assertPodinfo(t, ch)
		})
	}
}

// assertPodinfo checks that ch is the podinfo test chart, whole.
func assertPodinfo(t *testing.T, ch *chart.Chart) {
	t.Helper()
	var templates []string
	for _, f := range ch.Templates {
		templates = append(templates, f.Name)
	}
	slices.Sort(templates)
	want := []string{"templates/_helpers.tpl", "templates/configmap.yaml", "templates/deployment.yaml", "templates/service.yaml", "templates/tests/test-connection.yaml"}
	if ch.Name() != "podinfo" || !slices.Equal(templates, want) {
		t.Errorf("chart %q has templates %v, want podinfo with %v", ch.Name(), templates, want)
	}
	if image, _ := ch.Values["image"].(map[string]any); image["repository"] != "ghcr.io/stefanprodan/podinfo" {
		t.Errorf("chart values image = %v", ch.Values["image"])
	}
}

// versions lists name's versions in the index, in its order.
func versions(index *repo.IndexFile, name string) []string {
	var out []string
	for _, cv := range index.Entries[name] {
		out = append(out, cv.Version)
	}
	return out
}

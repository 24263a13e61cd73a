package helm

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"

	"github.com/tether-gitops/tether/internal/chartserve"
)

// Test charts of the repository, relative to this package's folder.
const (
	podinfoDir = "../../test/e2e/testdata/charts/podinfo"
	withcrdDir = "../../test/e2e/testdata/charts/withcrd"
)

// Credentials of the repositories and registries that ask for some.
const (
	testUser     = "tether"
	testPassword = "s3cret-Pa55word-9f2c"
	// wrongPassword is what a misconfigured client sends; it must not show
	// in messages either.
	wrongPassword = "wr0ng-Pa55word-77ab"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSelectVersion(t *testing.T) {
	versions := []string{"6.0.0", "6.0.3", "6.1.0", "6.2.0-rc.1", "not-a-version", "5.0.0"}
	tests := []struct {
		name       string
		versions   []string
		constraint string
		want       string
		wantErr    error
	}{
		{name: "exact version", constraint: "6.0.3", want: "6.0.3"},
		{name: "exact version with v prefix", constraint: "v6.0.3", want: "6.0.3"},
		{name: "exact pre-release", constraint: "6.2.0-rc.1", want: "6.2.0-rc.1"},
		{name: "exact version matches a v-prefixed entry", versions: []string{"v1.2.3", "1.0.0"}, constraint: "1.2.3", want: "v1.2.3"},
		{name: "exact version must exist", constraint: "6.0.4", wantErr: ErrNotFound},
		{name: "exact version is not a range", constraint: "6.0.1", wantErr: ErrNotFound},
		{name: "patch range picks the newest patch", constraint: "6.0.x", want: "6.0.3"},
		{name: "tilde range", constraint: "~6.0.0", want: "6.0.3"},
		{name: "caret range excludes pre-releases", constraint: "^6.0.0", want: "6.1.0"},
		{name: "star is the newest stable", constraint: "*", want: "6.1.0"},
		{name: "empty is the newest stable", constraint: "", want: "6.1.0"},
		{name: "range naming a pre-release may pick one", constraint: ">=1.0.0-0", want: "6.2.0-rc.1"},
		{name: "bounded range", constraint: ">=5.0.0 <6.0.0", want: "5.0.0"},
		{name: "no version in range", constraint: "7.x", wantErr: ErrNotFound},
		{name: "no versions at all", versions: []string{}, constraint: "*", wantErr: ErrNotFound},
		{name: "only invalid versions", versions: []string{"latest", "main"}, constraint: "", wantErr: ErrNotFound},
		{name: "invalid constraint", constraint: "not a version!", wantErr: ErrInvalid},
		{name: "invalid operator", constraint: ">>1.0.0", wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := versions
			if tt.versions != nil {
				list = tt.versions
			}
			got, err := SelectVersion(list, tt.constraint)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SelectVersion(%q) = %q, %v; want error %v", tt.constraint, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SelectVersion(%q): %v", tt.constraint, err)
			}
			if got != tt.want {
				t.Errorf("SelectVersion(%q) = %q, want %q", tt.constraint, got, tt.want)
			}
		})
	}
}

const testIndex = `apiVersion: v1
entries:
  podinfo:
    - name: podinfo
      version: 6.0.0
      urls: [podinfo-6.0.0.tgz]
    - name: podinfo
      version: not-semver
      urls: [podinfo-bad.tgz]
    - name: podinfo
      version: 6.1.0
      urls: [podinfo-6.1.0.tgz]
    - urls: [no-metadata.tgz]
    - name: podinfo
      version: 6.0.3
      urls: [podinfo-6.0.3.tgz]
    - name: podinfo
      version: 6.2.0-rc.1
      urls: [podinfo-6.2.0-rc.1.tgz]
  broken:
    - name: broken
      version: latest
      urls: [broken-latest.tgz]
generated: "2024-01-01T00:00:00Z"
`

func TestParseIndex(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr error
		// want maps chart names to their versions, in order.
		want map[string][]string
	}{
		{name: "empty", data: "", wantErr: ErrInvalid},
		{name: "no apiVersion", data: "entries:\n  podinfo:\n    - name: podinfo\n      version: 1.0.0\n", wantErr: ErrInvalid},
		{name: "not YAML", data: "apiVersion: v1\nentries: [\n", wantErr: ErrInvalid},
		{name: "entries of the wrong type", data: "apiVersion: v1\nentries: 42\n", wantErr: ErrInvalid},
		{name: "no entries", data: "apiVersion: v1\n", want: map[string][]string{}},
		{
			name: "invalid versions dropped and the rest sorted newest first",
			data: testIndex,
			want: map[string][]string{
				"podinfo": {"6.2.0-rc.1", "6.1.0", "6.0.3", "6.0.0"},
				"broken":  {},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := ParseIndex([]byte(tt.data))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseIndex = %v, want error %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIndex: %v", err)
			}
			if len(idx.Entries) != len(tt.want) {
				t.Errorf("entries %v, want %v", entryVersions(idx), tt.want)
			}
			for name, want := range tt.want {
				got := entryVersions(idx)[name]
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("versions of %s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func entryVersions(idx *repo.IndexFile) map[string][]string {
	out := map[string][]string{}
	for name, versions := range idx.Entries {
		out[name] = []string{}
		for _, v := range versions {
			out[name] = append(out[name], v.Version)
		}
	}
	return out
}

func TestIndexFind(t *testing.T) {
	parsed, err := ParseIndex([]byte(testIndex))
	if err != nil {
		t.Fatal(err)
	}
	idx := &Index{IndexFile: parsed}
	tests := []struct {
		name, chart, version string
		wantVersion, wantURL string
		wantErr              error
		wantMsg              string
	}{
		{name: "exact", chart: "podinfo", version: "6.0.0", wantVersion: "6.0.0", wantURL: "podinfo-6.0.0.tgz"},
		{name: "range", chart: "podinfo", version: "6.0.x", wantVersion: "6.0.3", wantURL: "podinfo-6.0.3.tgz"},
		{name: "newest stable", chart: "podinfo", version: "", wantVersion: "6.1.0", wantURL: "podinfo-6.1.0.tgz"},
		{name: "pre-release range", chart: "podinfo", version: ">=6.2.0-0", wantVersion: "6.2.0-rc.1"},
		{name: "unknown chart", chart: "nginx", version: "*", wantErr: ErrNotFound, wantMsg: "nginx"},
		{name: "chart with no valid version", chart: "broken", version: "*", wantErr: ErrNotFound, wantMsg: "broken"},
		{name: "missing version", chart: "podinfo", version: "9.9.9", wantErr: ErrNotFound, wantMsg: "9.9.9"},
		{name: "invalid constraint", chart: "podinfo", version: "6.0.x.y!", wantErr: ErrInvalid, wantMsg: "podinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cv, err := idx.Find(tt.chart, tt.version)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Find(%s, %s) = %v, want error %v", tt.chart, tt.version, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not name %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Find(%s, %s): %v", tt.chart, tt.version, err)
			}
			if cv.Version != tt.wantVersion {
				t.Errorf("version %s, want %s", cv.Version, tt.wantVersion)
			}
			if tt.wantURL != "" && (len(cv.URLs) != 1 || cv.URLs[0] != tt.wantURL) {
				t.Errorf("URLs %v, want [%s]", cv.URLs, tt.wantURL)
			}
		})
	}
}

// newRepo starts a chart repository on loopback with podinfo at versions.
func newRepo(t *testing.T, opts chartserve.RepoOptions, versions ...string) (*chartserve.Repo, map[string]chartserve.Archive) {
	t.Helper()
	r, err := chartserve.NewRepo(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	archives := map[string]chartserve.Archive{}
	for _, v := range versions {
		a, err := r.Publish(podinfoDir, v)
		if err != nil {
			t.Fatal(err)
		}
		archives[v] = a
	}
	return r, archives
}

func TestFetchIndexAndDownloadChart(t *testing.T) {
	r, archives := newRepo(t, chartserve.RepoOptions{}, "6.0.0", "6.0.3", "6.1.0")
	ctx := testContext(t)
	c := &Client{}
	for _, repoURL := range []string{r.URL(), r.URL() + "/"} {
		t.Run(repoURL, func(t *testing.T) {
			idx, err := c.FetchIndex(ctx, repoURL, nil)
			if err != nil {
				t.Fatalf("FetchIndex: %v", err)
			}
			sum := sha256.Sum256(idx.Raw)
			if want := "sha256:" + hex.EncodeToString(sum[:]); idx.Digest != want {
				t.Errorf("Digest %s, want %s", idx.Digest, want)
			}
			if got := entryVersions(idx.IndexFile)["podinfo"]; strings.Join(got, ",") != "6.1.0,6.0.3,6.0.0" {
				t.Errorf("versions %v", got)
			}
			cv, err := idx.Find("podinfo", "6.0.x")
			if err != nil {
				t.Fatal(err)
			}
			data, err := c.DownloadChart(ctx, repoURL, cv, nil)
			if err != nil {
				t.Fatalf("DownloadChart: %v", err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != archives["6.0.3"].Digest {
				t.Errorf("downloaded archive differs from the published one")
			}
			ch, err := LoadArchive(data)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Name() != "podinfo" || ch.Metadata.Version != "6.0.3" {
				t.Errorf("loaded chart %s %s, want podinfo 6.0.3", ch.Name(), ch.Metadata.Version)
			}
		})
	}
}

func TestFetchIndexErrors(t *testing.T) {
	r, _ := newRepo(t, chartserve.RepoOptions{}, "6.0.0")
	ctx := testContext(t)
	tests := []struct {
		name    string
		client  *Client
		repoURL string
		wantErr error
		wantMsg string
	}{
		{name: "no index at the URL", client: &Client{}, repoURL: r.URL() + "/missing", wantErr: ErrNotFound, wantMsg: r.URL() + "/missing/index.yaml"},
		{name: "not a URL", client: &Client{}, repoURL: "podinfo", wantErr: ErrInvalid},
		{name: "unsupported scheme", client: &Client{}, repoURL: "ftp://charts.example.com/podinfo", wantErr: ErrInvalid},
		{name: "index larger than the limit", client: &Client{MaxIndexSize: 10}, repoURL: r.URL(), wantMsg: "limit of 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := tt.client.FetchIndex(ctx, tt.repoURL, nil)
			if err == nil {
				t.Fatalf("FetchIndex(%s) = %v entries, want an error", tt.repoURL, len(idx.Entries))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDownloadChartErrors(t *testing.T) {
	r, archives := newRepo(t, chartserve.RepoOptions{}, "6.0.0")
	ctx := testContext(t)
	cv := func(url, digest string) *repo.ChartVersion {
		v := &repo.ChartVersion{Metadata: &chart.Metadata{Name: "podinfo", Version: "6.0.0"}, Digest: digest}
		if url != "" {
			v.URLs = []string{url}
		}
		return v
	}
	tests := []struct {
		name    string
		client  *Client
		cv      *repo.ChartVersion
		wantErr error
		wantMsg string
	}{
		{name: "matching digest", client: &Client{}, cv: cv("podinfo-6.0.0.tgz", archives["6.0.0"].Digest)},
		{name: "no digest in the index", client: &Client{}, cv: cv("podinfo-6.0.0.tgz", "")},
		{name: "absolute URL", client: &Client{}, cv: cv(r.URL()+"/podinfo-6.0.0.tgz", "")},
		{name: "digest mismatch", client: &Client{}, cv: cv("podinfo-6.0.0.tgz", strings.Repeat("0", 64)), wantMsg: "digest"},
		{name: "no URL", client: &Client{}, cv: cv("", ""), wantErr: ErrInvalid},
		{name: "missing archive", client: &Client{}, cv: cv("podinfo-9.9.9.tgz", ""), wantErr: ErrNotFound, wantMsg: r.URL() + "/podinfo-9.9.9.tgz"},
		{name: "archive larger than the limit", client: &Client{MaxChartSize: 10}, cv: cv("podinfo-6.0.0.tgz", ""), wantMsg: "limit of 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.client.DownloadChart(ctx, r.URL(), tt.cv, nil)
			if tt.wantErr == nil && tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("DownloadChart: %v", err)
				}
				if _, err := LoadArchive(data); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("DownloadChart succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestRepositoryAuthentication(t *testing.T) {
	r, _ := newRepo(t, chartserve.RepoOptions{Username: testUser, Password: testPassword}, "6.0.0")
	ctx := testContext(t)
	c := &Client{}
	good := &Auth{Username: testUser, Password: testPassword}
	// The index is fetched with the right credentials to get a chart
	// version to download.
	idx, err := c.FetchIndex(ctx, r.URL(), good)
	if err != nil {
		t.Fatalf("FetchIndex with the right credentials: %v", err)
	}
	cv, err := idx.Find("podinfo", "6.0.0")
	if err != nil {
		t.Fatal(err)
	}
	// userURL carries the credentials in the URL.
	userURL := strings.Replace(r.URL(), "://", "://"+testUser+":"+wrongPassword+"@", 1)
	tests := []struct {
		name    string
		repoURL string
		auth    *Auth
		wantErr error
	}{
		{name: "right credentials", repoURL: r.URL(), auth: good},
		{name: "no credentials", repoURL: r.URL(), auth: nil, wantErr: ErrAuthentication},
		{name: "empty credentials", repoURL: r.URL(), auth: &Auth{}, wantErr: ErrAuthentication},
		{name: "wrong password", repoURL: r.URL(), auth: &Auth{Username: testUser, Password: wrongPassword}, wantErr: ErrAuthentication},
		{name: "wrong username", repoURL: r.URL(), auth: &Auth{Username: "someone", Password: testPassword}, wantErr: ErrAuthentication},
		{name: "wrong password in the URL", repoURL: userURL, auth: nil, wantErr: ErrAuthentication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, idxErr := c.FetchIndex(ctx, tt.repoURL, tt.auth)
			_, dlErr := c.DownloadChart(ctx, tt.repoURL, cv, tt.auth)
			for what, err := range map[string]error{"FetchIndex": idxErr, "DownloadChart": dlErr} {
				if tt.wantErr == nil {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					continue
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s = %v, want %v", what, err, tt.wantErr)
					continue
				}
				for _, secret := range []string{testPassword, wrongPassword} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("%s error %q shows a password", what, err)
					}
				}
			}
		})
	}
}

// TestPassCredentials checks that credentials go to a chart URL on another
// host only with PassCredentials, as Helm's --pass-credentials.
func TestPassCredentials(t *testing.T) {
	r, archives := newRepo(t, chartserve.RepoOptions{Username: testUser, Password: testPassword}, "6.0.0")
	ctx := testContext(t)
	// The index lives elsewhere; the archive is on r, by absolute URL.
	const indexRepo = "https://charts.example.com/podinfo"
	cv := &repo.ChartVersion{
		Metadata: &chart.Metadata{Name: "podinfo", Version: "6.0.0"},
		URLs:     []string{r.URL() + "/podinfo-6.0.0.tgz"},
		Digest:   archives["6.0.0"].Digest,
	}
	tests := []struct {
		name    string
		pass    bool
		wantErr error
	}{
		{name: "credentials kept to the repository's host", pass: false, wantErr: ErrAuthentication},
		{name: "credentials passed on", pass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := &Auth{Username: testUser, Password: testPassword, PassCredentials: tt.pass}
			_, err := (&Client{}).DownloadChart(ctx, indexRepo, cv, auth)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("DownloadChart: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("DownloadChart = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRepositoryTLS(t *testing.T) {
	r, _ := newRepo(t, chartserve.RepoOptions{TLS: true}, "6.0.0")
	if !strings.HasPrefix(r.URL(), "https://") {
		t.Fatalf("repository URL %s is not https", r.URL())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(r.CAPEM()) {
		t.Fatal("bad CA PEM")
	}
	ctx := testContext(t)
	tests := []struct {
		name    string
		auth    *Auth
		wantErr bool
	}{
		{name: "with the CA", auth: &Auth{TLS: &tls.Config{RootCAs: pool}}},
		{name: "system roots", auth: nil, wantErr: true},
		{name: "TLS config without the CA", auth: &Auth{TLS: &tls.Config{}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{}
			idx, err := c.FetchIndex(ctx, r.URL(), tt.auth)
			if tt.wantErr {
				if err == nil {
					t.Fatal("FetchIndex succeeded with an unknown CA")
				}
				if errors.Is(err, ErrAuthentication) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
					t.Errorf("a certificate error is classified as %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FetchIndex: %v", err)
			}
			cv, err := idx.Find("podinfo", "*")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.DownloadChart(ctx, r.URL(), cv, tt.auth); err != nil {
				t.Fatalf("DownloadChart: %v", err)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	const public = "https://charts.example.com/podinfo"
	mirror, _ := newRepo(t, chartserve.RepoOptions{}, "6.0.0", "6.0.3")
	authMirror, _ := newRepo(t, chartserve.RepoOptions{Username: testUser, Password: testPassword}, "6.0.0")
	ctx := testContext(t)
	rewriteTo := func(to string) *Client {
		return &Client{Rewrite: func(u string) string {
			if strings.HasPrefix(u, public) {
				return to + strings.TrimPrefix(u, public)
			}
			return u
		}}
	}

	t.Run("index and chart through the mirror", func(t *testing.T) {
		c := rewriteTo(mirror.URL())
		idx, err := c.FetchIndex(ctx, public, nil)
		if err != nil {
			t.Fatalf("FetchIndex: %v", err)
		}
		cv, err := idx.Find("podinfo", "6.0.x")
		if err != nil {
			t.Fatal(err)
		}
		data, err := c.DownloadChart(ctx, public, cv, nil)
		if err != nil {
			t.Fatalf("DownloadChart: %v", err)
		}
		ch, err := LoadArchive(data)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Metadata.Version != "6.0.3" {
			t.Errorf("version %s, want 6.0.3", ch.Metadata.Version)
		}
		if n := mirror.Requests("/index.yaml"); n != 1 {
			t.Errorf("mirror served the index %d times, want 1", n)
		}
	})

	tests := []struct {
		name    string
		mirror  string
		auth    *Auth
		call    func(c *Client, auth *Auth) error
		wantErr error
		wantMsg []string
	}{
		{
			name:   "missing chart names the written URL and the mirror",
			mirror: mirror.URL(),
			call: func(c *Client, auth *Auth) error {
				cv := &repo.ChartVersion{Metadata: &chart.Metadata{Name: "podinfo", Version: "9.9.9"}, URLs: []string{"podinfo-9.9.9.tgz"}}
				_, err := c.DownloadChart(ctx, public, cv, auth)
				return err
			},
			wantErr: ErrNotFound,
			wantMsg: []string{public + "/podinfo-9.9.9.tgz", "via " + mirror.URL() + "/podinfo-9.9.9.tgz"},
		},
		{
			name:   "refused index names the written URL and the mirror",
			mirror: authMirror.URL(),
			auth:   &Auth{Username: testUser, Password: wrongPassword},
			call: func(c *Client, auth *Auth) error {
				_, err := c.FetchIndex(ctx, public, auth)
				return err
			},
			wantErr: ErrAuthentication,
			wantMsg: []string{public + "/index.yaml", "via " + authMirror.URL() + "/index.yaml"},
		},
		{
			name:   "credentials in the mirror URL are not shown",
			mirror: strings.Replace(authMirror.URL(), "://", "://"+testUser+":"+wrongPassword+"@", 1),
			call: func(c *Client, auth *Auth) error {
				_, err := c.FetchIndex(ctx, public, auth)
				return err
			},
			wantErr: ErrAuthentication,
			wantMsg: []string{public + "/index.yaml", "via " + authMirror.URL() + "/index.yaml"},
		},
		{
			name:   "mirror URL that is not http",
			mirror: "ftp://mirror.example.com/podinfo",
			call: func(c *Client, auth *Auth) error {
				_, err := c.FetchIndex(ctx, public, auth)
				return err
			},
			wantErr: ErrInvalid,
			wantMsg: []string{public + "/index.yaml", "via ftp://mirror.example.com/podinfo/index.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(rewriteTo(tt.mirror), tt.auth)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), wrongPassword) || strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

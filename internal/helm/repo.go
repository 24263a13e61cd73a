package helm

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// Default limits of what a repository may send.
const (
	DefaultMaxIndexSize int64 = 50 << 20
	DefaultMaxChartSize int64 = 10 << 20
	defaultTimeout            = 60 * time.Second
)

// Errors a caller can tell apart with errors.Is.
var (
	// ErrAuthentication: the repository refused the credentials (401/403).
	ErrAuthentication = errors.New("authentication failed")
	// ErrNotFound: no such chart, version or index.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request can never succeed as written (bad URL,
	// version constraint or chart).
	ErrInvalid = errors.New("invalid")
)

// Auth is how a repository or registry is reached.
type Auth struct {
	// Username and Password are sent as basic auth (HTTP) or registry
	// credentials (OCI).
	Username, Password string
	// TLS is the client's TLS configuration (CA, client certificate);
	// nil uses the system roots.
	TLS *tls.Config
	// PassCredentials sends the credentials to chart URLs on other hosts
	// than the repository's (Helm's --pass-credentials).
	PassCredentials bool
	// PlainHTTP lets an OCI registry be reached over HTTP.
	PlainHTTP bool
}

// Client reads chart repositories. Use it through a pointer; it is safe
// for concurrent use.
type Client struct {
	// Rewrite maps every URL before a network call (air-gapped mirrors);
	// nil leaves URLs alone.
	Rewrite func(string) string
	// MaxIndexSize and MaxChartSize bound downloads; 0 takes the defaults.
	MaxIndexSize, MaxChartSize int64
}

// Index is a repository's index.yaml as fetched.
type Index struct {
	*repo.IndexFile
	// Raw is the index as served.
	Raw []byte
	// Digest is "sha256:<hex>" of Raw.
	Digest string
}

// FetchIndex downloads and parses the index.yaml of the HTTP repository at
// repoURL.
func (c *Client) FetchIndex(ctx context.Context, repoURL string, auth *Auth) (*Index, error) {
	u, err := indexURL(repoURL)
	if err != nil {
		return nil, err
	}
	data, err := c.get(ctx, u, repoURL, auth, c.limit(c.MaxIndexSize, DefaultMaxIndexSize))
	if err != nil {
		return nil, fmt.Errorf("fetch index of %s: %w", redact(repoURL), err)
	}
	idx, err := ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("index of %s: %w", redact(repoURL), err)
	}
	sum := sha256.Sum256(data)
	return &Index{IndexFile: idx, Raw: data, Digest: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

// ParseIndex parses an index.yaml, dropping entries Helm would skip
// (invalid chart metadata) and sorting versions newest first.
func ParseIndex(data []byte) (*repo.IndexFile, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty index.yaml", ErrInvalid)
	}
	idx := &repo.IndexFile{}
	if err := yaml.Unmarshal(data, idx); err != nil {
		return nil, fmt.Errorf("%w: parse index.yaml: %v", ErrInvalid, err)
	}
	if idx.APIVersion == "" {
		return nil, fmt.Errorf("%w: index.yaml has no apiVersion", ErrInvalid)
	}
	for name, versions := range idx.Entries {
		kept := versions[:0]
		for _, v := range versions {
			if v == nil || v.Metadata == nil || v.Version == "" {
				continue
			}
			if _, err := semver.NewVersion(v.Version); err != nil {
				continue
			}
			kept = append(kept, v)
		}
		idx.Entries[name] = kept
	}
	idx.SortEntries()
	return idx, nil
}

// Find returns the chart version of name matching version: an exact
// version, or the newest one a semver range (such as "6.0.x") allows;
// "" and "*" take the newest stable version.
func (idx *Index) Find(name, version string) (*repo.ChartVersion, error) {
	versions, ok := idx.Entries[name]
	if !ok || len(versions) == 0 {
		return nil, fmt.Errorf("%w: no chart named '%s' in the repository index", ErrNotFound, name)
	}
	list := make([]string, 0, len(versions))
	for _, v := range versions {
		list = append(list, v.Version)
	}
	pick, err := SelectVersion(list, version)
	if err != nil {
		return nil, fmt.Errorf("chart '%s': %w", name, err)
	}
	for _, v := range versions {
		if v.Version == pick {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: chart '%s' version '%s'", ErrNotFound, name, pick)
}

// SelectVersion picks from versions the one constraint asks for: the
// exact version when constraint is one, else the newest version the range
// allows ("" means "*"). Pre-releases match only ranges that name one, as
// semver ranges do.
func SelectVersion(versions []string, constraint string) (string, error) {
	if constraint == "" {
		constraint = "*"
	}
	if exact, err := exactVersion(constraint); err == nil {
		for _, v := range versions {
			if sv, err := semver.NewVersion(v); err == nil && sv.Equal(exact) {
				return v, nil
			}
		}
		return "", fmt.Errorf("%w: version '%s' not found", ErrNotFound, constraint)
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("%w: version constraint '%s': %v", ErrInvalid, constraint, err)
	}
	var best *semver.Version
	pick := ""
	for _, v := range versions {
		sv, err := semver.NewVersion(v)
		if err != nil || !c.Check(sv) {
			continue
		}
		if best == nil || sv.GreaterThan(best) {
			best, pick = sv, v
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: no version matching '%s'", ErrNotFound, constraint)
	}
	return pick, nil
}

// DownloadChart downloads the archive of cv from the HTTP repository at
// repoURL (chart URLs may be relative to it).
func (c *Client) DownloadChart(ctx context.Context, repoURL string, cv *repo.ChartVersion, auth *Auth) ([]byte, error) {
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("%w: chart '%s' version '%s' has no URL in the index", ErrInvalid, cv.Name, cv.Version)
	}
	u, err := repo.ResolveReferenceURL(repoURL, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: chart URL '%s': %v", ErrInvalid, cv.URLs[0], err)
	}
	data, err := c.get(ctx, u, repoURL, auth, c.limit(c.MaxChartSize, DefaultMaxChartSize))
	if err != nil {
		return nil, fmt.Errorf("download chart '%s' version '%s': %w", cv.Name, cv.Version, err)
	}
	if cv.Digest != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != cv.Digest {
			return nil, fmt.Errorf("download chart '%s' version '%s': digest %s does not match the index's %s", cv.Name, cv.Version, got, cv.Digest)
		}
	}
	return data, nil
}

func (c *Client) limit(n, def int64) int64 {
	if n > 0 {
		return n
	}
	return def
}

func (c *Client) rewrite(u string) string {
	if c.Rewrite == nil {
		return u
	}
	return c.Rewrite(u)
}

// get downloads u (after the rewrite), sending auth only to repoURL's host
// unless auth.PassCredentials, and reading at most limit bytes. Errors name
// the URL as written and the mirror it was rewritten to, never
// credentials.
func (c *Client) get(ctx context.Context, rawURL, repoURL string, auth *Auth, limit int64) ([]byte, error) {
	target := c.rewrite(rawURL)
	where := redact(rawURL)
	if target != rawURL {
		where = fmt.Sprintf("%s (via %s)", redact(rawURL), redact(target))
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: URL %s: only http and https are supported", ErrInvalid, where)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: URL %s: %v", ErrInvalid, where, err)
	}
	req.Header.Set("User-Agent", "tether")
	if auth != nil && auth.Username != "" && (auth.PassCredentials || sameHost(rawURL, repoURL)) {
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	resp, err := httpClient(auth).Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", where, scrub(err, auth))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w: GET %s: %s", ErrAuthentication, where, resp.Status)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: GET %s: %s", ErrNotFound, where, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", where, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", where, scrub(err, auth))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: larger than the limit of %d bytes", where, limit)
	}
	return data, nil
}

func httpClient(auth *Auth) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	// Each call gets its own transport (its own TLS settings); keeping
	// connections alive would leak them.
	tr.DisableKeepAlives = true
	if auth != nil && auth.TLS != nil {
		tr.TLSClientConfig = auth.TLS.Clone()
	}
	pass := auth != nil && auth.PassCredentials
	return &http.Client{Transport: tr, Timeout: defaultTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		// Credentials go only to the host (and port) they were given for,
		// unless the user asked to pass them on (CVE-2021-32690).
		if !pass && req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		return nil
	}}
}

func indexURL(repoURL string) (string, error) {
	u, err := url.Parse(repoURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: repository URL '%s'", ErrInvalid, redact(repoURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/index.yaml"
	u.RawPath = ""
	return u.String(), nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host
}

// redact drops user information from a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// scrub removes the password from an error message; errors.Is and
// errors.As still see the original error.
func scrub(err error, auth *Auth) error {
	if err == nil || auth == nil || auth.Password == "" || !strings.Contains(err.Error(), auth.Password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), auth.Password, "*****"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// exactVersion parses v when it is one version rather than a range.
func exactVersion(v string) (*semver.Version, error) {
	return semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
}

// CheckVersion fails when version is neither empty, an exact version nor
// a semver range: such a spec can never resolve.
func CheckVersion(version string) error {
	if version == "" || version == "*" {
		return nil
	}
	if _, err := exactVersion(version); err == nil {
		return nil
	}
	if _, err := semver.NewConstraint(version); err != nil {
		return fmt.Errorf("%w: version '%s' is neither a version nor a semver range: %v", ErrInvalid, version, err)
	}
	return nil
}

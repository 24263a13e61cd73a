package sso

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-logr/logr"

	"github.com/tether-gitops/tether/internal/server/session"
)

// DefaultTimeout bounds each call to the provider (discovery, keys, code
// exchange).
const DefaultTimeout = 10 * time.Second

// retryAfter is how long a failed discovery is remembered: requests in
// that time fail at once instead of each waiting for the provider.
const retryAfter = 5 * time.Second

// Settings is where SSO's configuration is read from.
type Settings interface {
	// ConfigMap is argocd-cm's data.
	ConfigMap() map[string]string
	// Secret is argocd-secret's data.
	Secret() map[string][]byte
	// Version changes whenever either does.
	Version() uint64
}

// Options tune a RelyingParty; zero values are fine.
type Options struct {
	// Logger logs logins and the provider's failures; never a token or
	// the client secret.
	Logger logr.Logger
	// Timeout bounds each call to the provider; DefaultTimeout when zero.
	Timeout time.Duration
}

// RelyingParty is Tether as an OpenID Connect client of the provider in
// argocd-cm oidc.config: it verifies the provider's ID tokens
// (session.External) and serves the browser login under /auth/
// (http.Handler). Make one with New. The configuration is re-read when
// the settings change; the provider is discovered on first use and again
// when its issuer or TLS settings change.
type RelyingParty struct {
	settings Settings
	log      logr.Logger
	timeout  time.Duration

	mu      sync.Mutex
	loaded  bool
	version uint64
	cfg     *Config
	cfgErr  error
	disc    *discovery
}

var (
	_ session.External = (*RelyingParty)(nil)
	_ http.Handler     = (*RelyingParty)(nil)
)

// New returns a RelyingParty reading its configuration from settings.
func New(settings Settings, opts Options) *RelyingParty {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &RelyingParty{settings: settings, log: opts.Logger, timeout: opts.Timeout}
}

// config returns the current configuration: nil when SSO is not
// configured.
func (rp *RelyingParty) config() (*Config, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if v := rp.settings.Version(); !rp.loaded || v != rp.version {
		rp.loaded, rp.version = true, v
		rp.cfg, rp.cfgErr = ParseConfig(rp.settings.ConfigMap(), rp.settings.Secret())
		if rp.cfgErr != nil {
			rp.log.Error(rp.cfgErr, "SSO is misconfigured")
		}
	}
	return rp.cfg, rp.cfgErr
}

// discovery is one provider discovery, shared by the requests that need
// it.
type discovery struct {
	issuer, rootCA string
	insecure       bool

	client   *http.Client
	done     chan struct{}
	provider *oidc.Provider
	err      error
	finished time.Time
}

func (d *discovery) matches(c *Config) bool {
	return d.issuer == c.Issuer && d.rootCA == c.RootCA && d.insecure == c.InsecureSkipVerify
}

// provider returns the discovered provider of c and the HTTP client to
// talk to it with; the first caller starts the discovery, the others
// wait for it (or for ctx).
func (rp *RelyingParty) provider(ctx context.Context, c *Config) (*oidc.Provider, *http.Client, error) {
	rp.mu.Lock()
	d := rp.disc
	stale := d == nil || !d.matches(c)
	if !stale {
		select {
		case <-d.done:
			stale = d.err != nil && time.Since(d.finished) > retryAfter
		default:
		}
	}
	if stale {
		d = &discovery{issuer: c.Issuer, rootCA: c.RootCA, insecure: c.InsecureSkipVerify, done: make(chan struct{})}
		d.client = rp.httpClient(c)
		rp.disc = d
		go rp.discover(d)
	}
	rp.mu.Unlock()
	select {
	case <-d.done:
		return d.provider, d.client, d.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("waiting for the OIDC provider %s: %w", c.Issuer, ctx.Err())
	}
}

// discover fetches the discovery document. It runs apart from any
// request, so that a request that gives up does not fail the discovery
// for the others.
func (rp *RelyingParty) discover(d *discovery) {
	defer close(d.done)
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), d.client), rp.timeout)
	defer cancel()
	d.provider, d.err = oidc.NewProvider(ctx, d.issuer)
	d.finished = time.Now()
	if d.err != nil {
		d.err = fmt.Errorf("cannot reach the OIDC provider %s (argocd-cm oidc.config issuer): %w", d.issuer, d.err)
		rp.log.Error(d.err, "OIDC discovery failed; retrying on demand", "retryAfter", retryAfter)
	}
}

// httpClient talks to the provider: bounded in time, trusting rootCA
// only when it is set, as Argo CD does.
func (rp *RelyingParty) httpClient(c *Config) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.RootCA != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(c.RootCA)) // checked by ParseConfig
		transport.TLSClientConfig.RootCAs = pool
	}
	transport.TLSClientConfig.InsecureSkipVerify = c.InsecureSkipVerify //nolint:gosec // argocd-cm oidc.tls.insecure.skip.verify, off by default
	return &http.Client{Transport: transport, Timeout: rp.timeout}
}

// Verify checks an ID token of the configured provider and says who it
// stands for: its signature (against the provider's JWKS), issuer,
// expiry, and that its audience is one of allowedAudiences (a token the
// provider issued to another client is refused: CVE-2022-29165,
// GHSA-q9hr-j4rf-8fjc). It answers (nil, nil) for a token of another
// issuer, or when SSO is not configured.
func (rp *RelyingParty) Verify(ctx context.Context, token string) (*session.Identity, error) {
	c, err := rp.config()
	if err != nil {
		return nil, err
	}
	if c == nil || unverifiedIssuer(token) != c.Issuer {
		return nil, nil
	}
	p, client, err := rp.provider(ctx, c)
	if err != nil {
		return nil, err
	}
	id, err := rp.verifyIDToken(oidc.ClientContext(ctx, client), c, p, token)
	if err != nil {
		return nil, err
	}
	return identity(id)
}

// verifyIDToken checks signature, issuer, expiry and audience.
func (rp *RelyingParty) verifyIDToken(ctx context.Context, c *Config, p *oidc.Provider, token string) (*oidc.IDToken, error) {
	// The audience is checked below against every allowed audience, not
	// only the client ID; SkipClientIDCheck only moves that check here.
	id, err := p.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("ID token of %s: %w", c.Issuer, err)
	}
	if !slices.ContainsFunc(id.Audience, func(aud string) bool { return slices.Contains(c.AllowedAudiences, aud) }) {
		return nil, fmt.Errorf("ID token of %s is for audience %v, not one of %v (oidc.config allowedAudiences)", c.Issuer, id.Audience, c.AllowedAudiences)
	}
	if id.Subject == "" {
		return nil, fmt.Errorf("ID token of %s has no sub claim", c.Issuer)
	}
	return id, nil
}

// identity is the caller an ID token stands for: its subject, groups
// and every claim, for RBAC's scopes.
func identity(id *oidc.IDToken) (*session.Identity, error) {
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return nil, fmt.Errorf("ID token claims: %w", err)
	}
	return &session.Identity{
		Subject: id.Subject, Issuer: id.Issuer, Groups: groups(claims["groups"]),
		Claims: claims, ExpiresAt: id.Expiry,
	}, nil
}

// groups reads a groups claim: a list of strings, or one string.
func groups(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, g := range v {
			if s, ok := g.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// unverifiedIssuer is the iss claim of a JWT, unchecked: only to tell
// whose token it is before checking it.
func unverifiedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Issuer
}

// errNotConfigured is a login without oidc.config.
var errNotConfigured = errors.New("SSO is not configured: set oidc.config in argocd-cm")

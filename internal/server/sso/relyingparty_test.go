package sso_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/tether-gitops/tether/internal/server/sso"
	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

// settings is argocd-cm and argocd-secret in memory.
type settings struct {
	mu      sync.Mutex
	cm      map[string]string
	secret  map[string][]byte
	version uint64
}

func (s *settings) ConfigMap() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cm
}

func (s *settings) Secret() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secret
}

func (s *settings) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func (s *settings) set(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cm = maps.Clone(s.cm)
	s.cm[key] = value
	s.version++
}

const clientSecret = "tether-client-secret"

// fixture is a provider, a relying party configured for it behind a TLS
// server as the API server mounts it, and the log they wrote.
type fixture struct {
	op       *oidcserver.Server
	settings *settings
	rp       *sso.RelyingParty
	server   *httptest.Server
	logs     *strings.Builder
	logMu    *sync.Mutex
}

func newFixture(t *testing.T, extra string) *fixture {
	t.Helper()
	f := &fixture{logs: &strings.Builder{}, logMu: &sync.Mutex{}}
	f.server = httptest.NewUnstartedServer(nil)
	base := "https://" + f.server.Listener.Addr().String()
	f.op = oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{
			{ID: "tether", Secret: clientSecret, RedirectURIs: []string{base + "/auth/callback"}},
			{ID: "other-app", Secret: "other-secret", RedirectURIs: []string{"https://other.example/callback"}},
		},
		Users: []oidcserver.User{
			{Subject: "alice", Password: "alice-pw", Email: "alice@example.com", Groups: []string{"production-app-developers"}},
			{Subject: "bob", Password: "bob-pw", Email: "bob@example.com"},
		},
	})
	f.settings = &settings{
		cm:     map[string]string{"url": base, "oidc.config": oidcConfig(f.op, extra)},
		secret: map[string][]byte{"server.secretkey": []byte("signing-key"), "oidc.tether.clientSecret": []byte(clientSecret)},
	}
	logger := funcr.New(func(prefix, args string) {
		f.logMu.Lock()
		defer f.logMu.Unlock()
		fmt.Fprintln(f.logs, prefix, args)
	}, funcr.Options{})
	f.rp = sso.New(f.settings, sso.Options{Logger: logger, Timeout: 5 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/auth/", f.rp)
	mux.HandleFunc("/applications", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("apps")) })
	f.server.Config.Handler = mux
	f.server.StartTLS()
	t.Cleanup(f.server.Close)
	t.Cleanup(func() {
		f.logMu.Lock()
		defer f.logMu.Unlock()
		for _, secret := range []string{clientSecret, "alice-pw"} {
			if strings.Contains(f.logs.String(), secret) {
				t.Errorf("the log holds a secret: %s", f.logs.String())
			}
		}
	})
	return f
}

func oidcConfig(op *oidcserver.Server, extra string) string {
	return fmt.Sprintf("name: Test\nissuer: %s\nclientID: tether\nclientSecret: $oidc.tether.clientSecret\nrootCA: |\n%s%s",
		op.Issuer, indent(op.CACert), extra)
}

// browser trusts the provider and the relying party (httptest gives both
// the same certificate) and keeps cookies.
func (f *fixture) browser(t *testing.T) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(f.server.Certificate())
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// login logs user in through /auth/login as a browser does and returns
// the last response (where the relying party sent the browser back to).
func (f *fixture) login(t *testing.T, browser *http.Client, returnURL, user, password string) *http.Response {
	t.Helper()
	resp, err := browser.Get(f.server.URL + "/auth/login?return_url=" + url.QueryEscape(returnURL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), f.op.Issuer+"/login") {
		t.Fatalf("/auth/login: %s at %s, want the provider's login form", resp.Status, resp.Request.URL)
	}
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func tokenCookie(browser *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, c := range browser.Jar.Cookies(u) {
		if c.Name == sso.TokenCookie {
			return c.Value
		}
	}
	return ""
}

// TestBrowserLogin: /auth/login -> the provider's form -> /auth/callback
// sets argocd.token to an ID token Verify accepts, with the user's groups,
// and returns to return_url.
func TestBrowserLogin(t *testing.T) {
	for _, pkce := range []bool{false, true} {
		t.Run(fmt.Sprintf("pkce=%v", pkce), func(t *testing.T) {
			f := newFixture(t, fmt.Sprintf("enablePKCEAuthentication: %v\n", pkce))
			browser := f.browser(t)
			resp := f.login(t, browser, "/applications?x=1", "alice", "alice-pw")
			if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != f.server.URL+"/applications?x=1" {
				t.Fatalf("after login: %s at %s", resp.Status, resp.Request.URL)
			}
			token := tokenCookie(browser, f.server.URL)
			if token == "" {
				t.Fatal("no argocd.token cookie")
			}
			id, err := f.rp.Verify(context.Background(), token)
			if err != nil || id == nil {
				t.Fatalf("Verify the cookie's token: %v %v", id, err)
			}
			if id.Subject != "alice" || !slices.Equal(id.Groups, []string{"production-app-developers"}) ||
				id.Claims["email"] != "alice@example.com" || id.Claims["iss"] != f.op.Issuer || id.Issuer != f.op.Issuer ||
				time.Until(id.ExpiresAt) < 30*time.Minute {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

// TestBrowserLoginNoOpenRedirect: a return_url to another site ends the
// login at this server's root.
func TestBrowserLoginNoOpenRedirect(t *testing.T) {
	f := newFixture(t, "")
	browser := f.browser(t)
	browser.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "evil.example" {
			t.Errorf("redirected to %s", req.URL)
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp := f.login(t, browser, "https://evil.example/steal", "bob", "bob-pw")
	if resp.Request.URL.String() != f.server.URL+"/" {
		t.Errorf("after login: at %s, want %s/", resp.Request.URL, f.server.URL)
	}
	if tokenCookie(browser, f.server.URL) == "" {
		t.Error("no token cookie")
	}
}

// TestCallbackState: a callback without the state cookie, with another
// state, or with a forged cookie is refused and sets no token.
func TestCallbackState(t *testing.T) {
	f := newFixture(t, "")
	get := func(browser *http.Client, query string) (int, string) {
		resp, err := browser.Get(f.server.URL + "/auth/callback?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body := make([]byte, 512)
		n, _ := resp.Body.Read(body)
		return resp.StatusCode, string(body[:n])
	}

	// No login in progress.
	browser := f.browser(t)
	if status, body := get(browser, "code=abc&state=xyz"); status != http.StatusBadRequest || !strings.Contains(body, "state cookie is missing") {
		t.Errorf("no state cookie: %d %s", status, body)
	}

	// A login in progress, but the callback carries another state: the
	// browser stops at the provider's callback to swap it.
	browser.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp := f.login(t, browser, "/", "alice", "alice-pw")
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("provider's redirect: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	q := loc.Query()
	q.Set("state", "attacker-state")
	if status, body := get(browser, q.Encode()); status != http.StatusBadRequest || !strings.Contains(body, "state does not match") {
		t.Errorf("mismatched state: %d %s", status, body)
	}
	// The attempt is over: the right state no longer works either.
	if status, _ := get(browser, loc.RawQuery); status != http.StatusBadRequest {
		t.Errorf("replayed callback: %d", status)
	}
	if tokenCookie(browser, f.server.URL) != "" {
		t.Error("a refused callback set a token")
	}

	// A state cookie not signed by this server.
	u, _ := url.Parse(f.server.URL)
	browser.Jar.SetCookies(u, []*http.Cookie{{Name: "argocd.oauthstate", Value: "eyJzIjoieCJ9.AAAA", Path: "/auth/"}})
	if status, body := get(browser, "code=abc&state=x"); status != http.StatusBadRequest || !strings.Contains(body, "not signed by this server") {
		t.Errorf("forged state cookie: %d %s", status, body)
	}

	// The provider refused the login.
	if status, body := get(f.browser(t), "error=access_denied&error_description=no"); status != http.StatusUnauthorized || !strings.Contains(body, "access_denied") {
		t.Errorf("provider error: %d %s", status, body)
	}
}

// TestVerify: what Verify accepts and refuses.
func TestVerify(t *testing.T) {
	f := newFixture(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good, err := f.op.IDToken(ctx, "tether", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := f.rp.Verify(ctx, good); err != nil || id == nil || id.Subject != "alice" {
		t.Fatalf("a token of the provider for tether: %v %v", id, err)
	}
	now := time.Now()
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"iss": f.op.Issuer, "sub": "alice", "aud": "tether", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"groups": []string{"production-app-developers"}}
		maps.Copy(c, over)
		return c
	}
	sign := func(c map[string]any) string {
		s, err := f.op.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forged, err := f.op.SignWithForeignKey(claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"signed by another key":        forged,
		"expired":                      sign(claims(map[string]any{"exp": now.Add(-time.Hour).Unix()})),
		"no audience":                  sign(claims(map[string]any{"aud": nil})),
		"audience of another client":   sign(claims(map[string]any{"aud": "other-app"})),
		"no subject":                   sign(claims(map[string]any{"sub": ""})),
		"unsigned":                     strings.Join(strings.Split(sign(claims(nil)), ".")[:2], ".") + ".",
		"tampered groups":              tamper(t, sign(claims(map[string]any{"groups": []string{"x"}})), `"groups":["x"]`, `"groups":["y"]`),
		"issued to another app (flow)": mustIDToken(t, f.op, "other-app", "alice"),
		"issuer with a trailing slash": sign(claims(map[string]any{"iss": f.op.Issuer + "/"})),
	}
	for name, token := range refused {
		id, err := f.rp.Verify(ctx, token)
		if name == "issuer with a trailing slash" {
			if id != nil || err != nil {
				t.Errorf("%s: %v %v, want (nil, nil): not this provider's token", name, id, err)
			}
			continue
		}
		if err == nil || id != nil {
			t.Errorf("%s: accepted (%+v)", name, id)
		}
	}
	if id, err := f.rp.Verify(ctx, sign(claims(map[string]any{"aud": []string{"other-app", "tether"}}))); err != nil || id == nil {
		t.Errorf("a token for tether and another audience: %v", err)
	}
	// Not this provider's: another issuer, an Argo CD session token, junk.
	for _, token := range []string{sign(claims(map[string]any{"iss": "https://elsewhere.example"})), "a.b.c", "junk", ""} {
		if id, err := f.rp.Verify(ctx, token); id != nil || err != nil {
			t.Errorf("token of another issuer: %v %v, want (nil, nil)", id, err)
		}
	}
}

// TestVerifyRefusesTokenForAnotherAudience_CVE_2022_29165 is Argo CD's
// CVE-2022-29165 / GHSA-q9hr-j4rf-8fjc: an ID token the same provider
// issued, through a real login, to another client must not let its
// holder in; allowedAudiences lets it in when the admin says so.
func TestVerifyRefusesTokenForAnotherAudience_CVE_2022_29165(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	other := mustIDToken(t, f.op, "other-app", "alice")
	if id, err := f.rp.Verify(ctx, other); err == nil || id != nil || !strings.Contains(err.Error(), "not one of [tether]") {
		t.Fatalf("a token for other-app: %v %v, want refused for its audience", id, err)
	}
	f.settings.set("oidc.config", oidcConfig(f.op, "allowedAudiences: [tether, other-app]\n"))
	if id, err := f.rp.Verify(ctx, other); err != nil || id == nil {
		t.Errorf("allowedAudiences lists other-app: %v", err)
	}
	if id, err := f.rp.Verify(ctx, mustIDToken(t, f.op, "tether", "alice")); err != nil || id == nil {
		t.Errorf("allowedAudiences lists tether: %v", err)
	}
}

// TestVerifyAcceptsCLIClient: `login --sso` logs in as cliClientID, and
// the API accepts that client's ID tokens without allowedAudiences, as
// Argo CD does; tokens of a client that is neither are still refused.
func TestVerifyAcceptsCLIClient(t *testing.T) {
	f := newFixture(t, "cliClientID: other-app\n")
	ctx := context.Background()
	if id, err := f.rp.Verify(ctx, mustIDToken(t, f.op, "other-app", "alice")); err != nil || id == nil || id.Subject != "alice" {
		t.Errorf("a token for the CLI client: %v %v", id, err)
	}
	if id, err := f.rp.Verify(ctx, mustIDToken(t, f.op, "tether", "alice")); err != nil || id == nil {
		t.Errorf("a token for the client: %v %v", id, err)
	}
	f.settings.set("oidc.config", oidcConfig(f.op, "cliClientID: tether-cli\n"))
	if id, err := f.rp.Verify(ctx, mustIDToken(t, f.op, "other-app", "alice")); err == nil || id != nil {
		t.Errorf("a token for other-app, which is not the CLI client: %v %v, want refused", id, err)
	}
}

// TestConfigChanges: the provider is looked up again when oidc.config
// names another one; with oidc.config gone, no token is SSO's.
func TestConfigChanges(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	first := mustIDToken(t, f.op, "tether", "alice")
	if _, err := f.rp.Verify(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{{ID: "tether", Secret: "x", RedirectURIs: []string{"https://t.example/auth/callback"}}},
		Users:   []oidcserver.User{{Subject: "carol", Password: "carol-pw", Groups: []string{"g"}}},
	})
	f.settings.set("oidc.config", oidcConfig(second, ""))
	if id, err := f.rp.Verify(ctx, mustIDToken(t, second, "tether", "carol")); err != nil || id == nil || id.Subject != "carol" {
		t.Errorf("the new provider's token: %v %v", id, err)
	}
	if id, err := f.rp.Verify(ctx, first); id != nil || err != nil {
		t.Errorf("the old provider's token: %v %v, want (nil, nil)", id, err)
	}
	f.settings.set("oidc.config", "")
	if id, err := f.rp.Verify(ctx, first); id != nil || err != nil {
		t.Errorf("no oidc.config: %v %v", id, err)
	}
	resp, err := f.browser(t).Get(f.server.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("login without oidc.config: %s", resp.Status)
	}
	f.settings.set("oidc.config", "clientID: [")
	if _, err := f.rp.Verify(ctx, first); err == nil {
		t.Error("a broken oidc.config: token accepted")
	}
}

// TestUnreachableProvider: a provider that is down fails logins and
// verification with an error that names it.
func TestUnreachableProvider(t *testing.T) {
	f := newFixture(t, "")
	token := mustIDToken(t, f.op, "tether", "alice")
	f.op.Close()
	id, err := f.rp.Verify(context.Background(), token)
	if id != nil || err == nil || !strings.Contains(err.Error(), "cannot reach the OIDC provider "+f.op.Issuer) {
		t.Errorf("Verify: %v %v", id, err)
	}
	resp, err := f.browser(t).Get(f.server.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("login: %s", resp.Status)
	}
}

// TestUntrustedProviderCertificate: without rootCA the provider's
// self-signed certificate is not trusted; oidc.tls.insecure.skip.verify
// trusts it, as in Argo CD.
func TestUntrustedProviderCertificate(t *testing.T) {
	f := newFixture(t, "")
	token := mustIDToken(t, f.op, "tether", "alice")
	f.settings.set("oidc.config", fmt.Sprintf("issuer: %s\nclientID: tether\n", f.op.Issuer))
	if _, err := f.rp.Verify(context.Background(), token); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	f.settings.set("oidc.tls.insecure.skip.verify", "true")
	if id, err := f.rp.Verify(context.Background(), token); err != nil || id == nil {
		t.Errorf("skip verify: %v", err)
	}
}

func mustIDToken(t *testing.T, op *oidcserver.Server, client, user string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token, err := op.IDToken(ctx, client, user)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// tamper replaces old with new in a token's payload, keeping the
// signature.
func tamper(t *testing.T, token, old, new string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := decodeSegment(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(payload), old, new, 1)
	if changed == string(payload) {
		t.Fatalf("tamper: %q not in %s", old, payload)
	}
	parts[1] = encodeSegment([]byte(changed))
	return strings.Join(parts, ".")
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func encodeSegment(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }

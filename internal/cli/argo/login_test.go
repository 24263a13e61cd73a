package argo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ sub, email, name, want string }{
		{"alice", "alice@example.com", "Alice", "alice@example.com"},
		{"alice", "", "Alice", "Alice"},
		{"alice", "", "", "alice"},
	} {
		if got := displayName(tc.sub, tc.email, tc.name); got != tc.want {
			t.Errorf("displayName(%q, %q, %q) = %q, want %q", tc.sub, tc.email, tc.name, got, tc.want)
		}
	}
}

func TestOIDCSettings(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set        oidcSettings
		wantClient string
		wantScopes []string
	}{
		{name: "defaults", set: oidcSettings{ClientID: "tether"}, wantClient: "tether",
			wantScopes: []string{"openid", "profile", "email", "groups"}},
		{name: "cli client", set: oidcSettings{ClientID: "tether", CLIClientID: "tether-cli", Scopes: []string{"openid", "email"}},
			wantClient: "tether-cli", wantScopes: []string{"openid", "email"}},
		{name: "openid always", set: oidcSettings{ClientID: "tether", Scopes: []string{"email"}}, wantClient: "tether",
			wantScopes: []string{"openid", "email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.set.cliClientID(); got != tc.wantClient {
				t.Errorf("client %q, want %q", got, tc.wantClient)
			}
			if got := tc.set.scopes(); !slices.Equal(got, tc.wantScopes) {
				t.Errorf("scopes %v, want %v", got, tc.wantScopes)
			}
		})
	}
}

// TestNewAuthRequest: the authorization-code flow with PKCE S256, a state
// and a nonce of their own per login, and the requested claims.
func TestNewAuthRequest(t *testing.T) {
	conf := &oauth2.Config{ClientID: "tether-cli", RedirectURL: "http://localhost:8085/auth/callback",
		Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/authorize"}, Scopes: []string{"openid", "groups"}}
	set := &oidcSettings{IDTokenClaims: []byte(`{"groups":{"essential":true}}`)}
	r, err := newAuthRequest(conf, set)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(r.url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(r.verifier))
	want := map[string]string{
		"response_type": "code", "client_id": "tether-cli", "redirect_uri": "http://localhost:8085/auth/callback",
		"scope": "openid groups", "state": r.state, "nonce": r.nonce, "code_challenge_method": "S256",
		"code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]),
		"claims":         `{"id_token":{"groups":{"essential":true}}}`,
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Has("code_verifier") || strings.Contains(r.url, r.verifier) {
		t.Error("the PKCE verifier is in the URL")
	}
	if len(r.state) < 20 || len(r.nonce) < 20 || r.state == r.nonce {
		t.Errorf("state %q and nonce %q must be long and distinct", r.state, r.nonce)
	}
	other, _ := newAuthRequest(conf, &oidcSettings{})
	if other.state == r.state || other.nonce == r.nonce || other.verifier == r.verifier {
		t.Error("two logins share a state, nonce or verifier")
	}
	if strings.Contains(other.url, "claims=") {
		t.Errorf("claims asked for without idTokenClaims: %s", other.url)
	}
}

// TestCallback: the state is checked first, the provider's error is
// reported, one request ends the login and later ones are turned away.
func TestCallback(t *testing.T) {
	ok := func(code string) (loginResult, error) {
		if code != "good" {
			return loginResult{}, errors.New("bad code")
		}
		return loginResult{token: "id-token", who: "alice"}, nil
	}
	for _, tc := range []struct {
		name, query string
		status      int
		wantErr     string
	}{
		{name: "success", query: "state=s1&code=good", status: http.StatusOK},
		{name: "wrong state", query: "state=other&code=good", status: http.StatusBadRequest, wantErr: "state does not match"},
		{name: "no state", query: "code=good", status: http.StatusBadRequest, wantErr: "state does not match"},
		{name: "wrong state and an error", query: "state=x&error=access_denied", status: http.StatusBadRequest, wantErr: "state does not match"},
		{name: "provider error", query: "state=s1&error=access_denied&error_description=no+way", status: http.StatusBadRequest, wantErr: "access_denied no way"},
		{name: "no code", query: "state=s1", status: http.StatusBadRequest, wantErr: "no code"},
		{name: "exchange fails", query: "state=s1&code=bad", status: http.StatusBadGateway, wantErr: "bad code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb := newCallback("s1", ok)
			other := httptest.NewRecorder()
			cb.ServeHTTP(other, httptest.NewRequest("GET", "/favicon.ico", nil))
			if other.Code != http.StatusNotFound || cb.taken.Load() {
				t.Fatalf("another path: %d, taken %v", other.Code, cb.taken.Load())
			}
			w := httptest.NewRecorder()
			cb.ServeHTTP(w, httptest.NewRequest("GET", "/auth/callback?"+tc.query, nil))
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			out := <-cb.done
			if tc.wantErr == "" && (out.err != nil || out.result.token != "id-token") {
				t.Errorf("outcome %+v", out)
			}
			if tc.wantErr != "" && (out.err == nil || !strings.Contains(out.err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", out.err, tc.wantErr)
			}
			again := httptest.NewRecorder()
			cb.ServeHTTP(again, httptest.NewRequest("GET", "/auth/callback?state=s1&code=good", nil))
			if again.Code != http.StatusConflict {
				t.Errorf("a second callback: %d, want 409", again.Code)
			}
		})
	}
}

func TestCallbackWaitIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	cb := newCallback("s", func(string) (loginResult, error) { return loginResult{}, nil })
	if _, err := cb.serve(context.Background(), ln, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "no login in the browser") {
		t.Errorf("serve: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the callback still listens after the login gave up")
	}
}

// ssoTestEnv is a provider with a public native client for the CLI, and
// an API server that publishes it in /api/v1/settings.
type ssoTestEnv struct {
	op  *oidcserver.Server
	api *apiclient.Client
}

func newSSOTestEnv(t *testing.T, cliClientID string) *ssoTestEnv {
	t.Helper()
	op := oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{
			{ID: "tether", Secret: "s3cret", RedirectURIs: []string{"https://tether.example/auth/callback"}},
			{ID: "tether-cli", Native: true, RedirectURIs: []string{"http://localhost/auth/callback"}},
		},
		Users: []oidcserver.User{{Subject: "alice", Password: "alice-pw", Email: "alice@example.com", Groups: []string{"devs"}}},
	})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/settings" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"url":"https://tether.example","oidcConfig":{"name":"Test","issuer":%q,"clientID":"tether","cliClientID":%q,"scopes":["openid","email","groups"]}}`,
			op.Issuer, cliClientID)
	}))
	t.Cleanup(api.Close)
	c, err := apiclient.New(apiclient.Options{Server: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &ssoTestEnv{op: op, api: c}
}

// playBrowser logs alice in at the provider's form, following redirects
// back to the CLI's callback, and returns the callback's answer.
func (e *ssoTestEnv) playBrowser(loginURL, password string) (int, string, error) {
	browser := e.op.HTTPClient()
	resp, err := browser.Get(loginURL)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		return 0, "", fmt.Errorf("%s at %s, want the login form", resp.Status, resp.Request.URL)
	}
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"username": {"alice"}, "password": {password}})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestSSOFlow runs the whole login against a real provider: the URL is
// printed, the "browser" logs in, the code is exchanged with PKCE, and
// the ID token is for the CLI client and verifies.
func TestSSOFlow(t *testing.T) {
	e := newSSOTestEnv(t, "tether-cli")
	var stderr bytes.Buffer
	browserDone := make(chan error, 1)
	flow := ssoFlow{port: 0, launchBrowser: true, wait: time.Minute, stderr: &stderr, providerClient: e.op.HTTPClient(),
		open: func(u string) error {
			go func() {
				status, body, err := e.playBrowser(u, "alice-pw")
				if err == nil && (status != http.StatusOK || !strings.Contains(body, "Logged in")) {
					err = fmt.Errorf("callback answered %d %s", status, body)
				}
				browserDone <- err
			}()
			return nil
		}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := flow.login(ctx, e.api)
	if err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	if err := <-browserDone; err != nil {
		t.Fatal(err)
	}
	if got.who != "alice@example.com" {
		t.Errorf("greets %q", got.who)
	}
	if !strings.Contains(stderr.String(), e.op.Issuer+"/authorize?") {
		t.Errorf("the login URL is not printed: %s", stderr.String())
	}
	if strings.Contains(stderr.String(), got.token) {
		t.Error("stderr holds the token")
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, e.op.HTTPClient()), e.op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.Verifier(&oidc.Config{ClientID: "tether-cli"}).Verify(oidc.ClientContext(ctx, e.op.HTTPClient()), got.token)
	if err != nil || id.Subject != "alice" {
		t.Errorf("the saved token: %v %v", id, err)
	}
}

// TestSSOFlowFailures: no SSO on the server, a provider that refuses, a
// wrong password in the browser that is never finished (bounded wait).
func TestSSOFlowFailures(t *testing.T) {
	t.Run("no SSO configured", func(t *testing.T) {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{}`) }))
		defer api.Close()
		c, _ := apiclient.New(apiclient.Options{Server: api.URL})
		flow := ssoFlow{wait: time.Second, stderr: io.Discard}
		if _, err := flow.login(context.Background(), c); err == nil || !strings.Contains(err.Error(), "no SSO configured") {
			t.Errorf("login: %v", err)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		e := newSSOTestEnv(t, "nobody")
		browserDone := make(chan error, 1)
		flow := ssoFlow{wait: 30 * time.Second, launchBrowser: true, stderr: io.Discard, providerClient: e.op.HTTPClient(),
			open: func(u string) error {
				go func() {
					resp, err := e.op.HTTPClient().Get(u)
					if err == nil {
						resp.Body.Close()
					}
					browserDone <- err
				}()
				return nil
			}}
		// The provider shows the browser an error and never redirects.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := flow.login(ctx, e.api); err == nil || !strings.Contains(err.Error(), "waiting for the browser") {
			t.Errorf("a login as a client the provider does not know: %v", err)
		}
		<-browserDone
	})
	t.Run("untrusted provider", func(t *testing.T) {
		e := newSSOTestEnv(t, "tether-cli")
		flow := ssoFlow{wait: time.Second, stderr: io.Discard} // the system's CAs only
		if _, err := flow.login(context.Background(), e.api); err == nil || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
			t.Errorf("login: %v", err)
		}
	})
}

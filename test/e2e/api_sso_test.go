package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

const ssoClientSecret = "sso-e2e-client-secret"

// ssoFixture points argocd-cm's oidc.config and url at op (the client
// secret through an argocd-secret reference) and removes exactly those
// keys when the test ends.
func ssoFixture(t *testing.T, c client.Client, op *oidcserver.Server, base string) {
	ctx := context.Background()
	config := fmt.Sprintf("name: E2E\nissuer: %s\nclientID: tether\nclientSecret: $oidc.e2e.clientSecret\nenablePKCEAuthentication: true\nrootCA: |\n  %s\n",
		op.Issuer, strings.ReplaceAll(strings.TrimSpace(op.CACert), "\n", "\n  "))
	patches := []struct {
		obj        client.Object
		set, unset string
	}{
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: "argocd"}},
			mustJSON(t, map[string]any{"stringData": map[string]string{"oidc.e2e.clientSecret": ssoClientSecret}}),
			`{"data":{"oidc.e2e.clientSecret":null}}`},
		{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}},
			mustJSON(t, map[string]any{"data": map[string]string{"url": base, "oidc.config": config}}),
			`{"data":{"url":null,"oidc.config":null}}`},
	}
	for _, p := range patches {
		if err := c.Patch(ctx, p.obj, client.RawPatch("application/merge-patch+json", []byte(p.set))); err != nil {
			t.Fatalf("patch %s: %v", p.obj.GetName(), err)
		}
		t.Cleanup(func() {
			_ = c.Patch(ctx, p.obj, client.RawPatch("application/merge-patch+json", []byte(p.unset)))
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// browser is a cookie-keeping HTTP client like a person's browser: it
// follows redirects and accepts the server's self-signed certificate (the
// test checks that Tether trusts the provider only through rootCA).
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed test servers
	}}
}

// ssoLogin logs user in through Tether's /auth/login and the provider's
// form, as a browser does, and returns the callback's answer (the browser
// stops before following it to returnURL) and the token cookie.
func ssoLogin(t *testing.T, browser *http.Client, base, returnURL, user, password string) (*http.Response, string) {
	t.Helper()
	browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[len(via)-1].URL.Path == "/auth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := browser.Get(base + "/auth/login?return_url=" + url.QueryEscape(returnURL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("/auth/login: %s at %s, want the provider's login form", resp.Status, resp.Request.URL)
	}
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/auth/callback" || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login of %s: %s at %s, want the callback's redirect", user, resp.Status, resp.Request.URL)
	}
	u, _ := url.Parse(base)
	for _, c := range browser.Jar.Cookies(u) {
		if c.Name == "argocd.token" {
			return resp, c.Value
		}
	}
	t.Fatalf("login of %s: no argocd.token cookie", user)
	return nil, ""
}

// TestAPIServerSSO logs people in through a real OpenID Provider, as
// Argo CD's SSO does: argocd-cm oidc.config (client secret from
// argocd-secret, the provider trusted through rootCA, PKCE), the browser
// flow through /auth/login and /auth/callback, then the API with the
// argocd.token cookie and with the ID token as a bearer token. A member of
// production-app-developers (through the groups claim) gets the seed's 03
// role: reads production's apps, cannot sync them or see others. Tokens
// the provider issued to another client (CVE-2022-29165,
// GHSA-q9hr-j4rf-8fjc) or that another key signed are refused.
func TestAPIServerSSO(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "03-argo-appproject-production.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: sso-staging, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
`)
	placeholderApps(t, map[string]string{"sso-prod-web": "production", "sso-staging-web": "sso-staging"})
	t.Cleanup(func() {
		for _, name := range []string{"sso-prod-web", "sso-staging-web"} {
			_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
		for _, name := range []string{"production", "sso-staging"} {
			_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
	})

	tether := startTether(t)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	op := oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{
			{ID: "tether", Secret: ssoClientSecret, RedirectURIs: []string{base + "/auth/callback"}},
			{ID: "other-app", Secret: "other-app-secret", RedirectURIs: []string{"https://other.example/callback"}},
		},
		Users: []oidcserver.User{
			{Subject: "alice", Password: "alice-password", Email: "alice@example.com", Groups: []string{"production-app-developers", "staff"}},
			{Subject: "bob", Password: "bob-password", Email: "bob@example.com", Groups: []string{"staff"}},
		},
	})
	// The settings are written once the server runs: SSO starts working
	// without a restart.
	ssoFixture(t, c, op, base)
	api := newAPIClient(t, base)
	eventually(t, 30*time.Second, "/auth/login redirects to the provider", func(context.Context) error {
		req, err := http.NewRequest("GET", base+"/auth/login", nil)
		if err != nil {
			return err
		}
		resp, err := api.http.Transport.RoundTrip(req) // no redirects followed
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), op.Issuer+"/authorize?") {
			return fmt.Errorf("%s to %q", resp.Status, resp.Header.Get("Location"))
		}
		return nil
	})

	// Alice logs in with a browser.
	browser := newBrowser(t)
	resp, aliceToken := ssoLogin(t, browser, base, "/applications/sso-prod-web", "alice", "alice-password")
	if loc := resp.Header.Get("Location"); loc != "/applications/sso-prod-web" {
		t.Errorf("callback sends the browser to %q, want the return_url", loc)
	}
	var tokenCookie string
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "argocd.token=") {
			tokenCookie = sc
		}
	}
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(tokenCookie, attr) {
			t.Errorf("token cookie %q lacks %s", tokenCookie, attr)
		}
	}

	// What the group may do, with the cookie and with the bearer token.
	ok, denied, unauth := http.StatusOK, http.StatusForbidden, http.StatusUnauthorized
	rows := []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/applications/sso-prod-web", ok},
		{"GET", "/api/v1/applications/sso-staging-web", denied},
		{"POST", "/api/v1/applications/sso-prod-web/sync", denied},
		{"DELETE", "/api/v1/applications/sso-prod-web", denied},
		{"GET", "/api/v1/projects/production", ok},
		{"GET", "/api/v1/projects/sso-staging", denied},
	}
	withCookie := func(method, path string) int {
		req, err := http.NewRequest(method, base+path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range rows {
		if got := withCookie(r.method, r.path); got != r.want {
			t.Errorf("%s %s as alice (cookie): %d, want %d", r.method, r.path, got, r.want)
		}
		if got, body, _ := api.do(r.method, r.path, aliceToken, map[string]any{}); got != r.want {
			t.Errorf("%s %s as alice (bearer): %d %s, want %d", r.method, r.path, got, body, r.want)
		}
	}
	if got := appNames(t, api, aliceToken, "/api/v1/applications?search=sso-"); !slices.Equal(got, []string{"sso-prod-web"}) {
		t.Errorf("alice lists %v, want [sso-prod-web]", got)
	}
	_, body, _ := api.do("GET", "/api/v1/session/userinfo", aliceToken, nil)
	var info struct {
		LoggedIn bool
		Username string
		Iss      string
		Groups   []string
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	if !info.LoggedIn || info.Username != "alice" || info.Iss != op.Issuer || !slices.Equal(info.Groups, []string{"production-app-developers", "staff"}) {
		t.Errorf("alice's userinfo: %s", body)
	}

	// Bob is not in the group: he sees no production app.
	_, bobToken := ssoLogin(t, newBrowser(t), base, "/", "bob", "bob-password")
	if got := appNames(t, api, bobToken, "/api/v1/applications?search=sso-"); len(got) != 0 {
		t.Errorf("bob lists %v, want none", got)
	}
	if status, body, _ := api.do("GET", "/api/v1/applications/sso-prod-web", bobToken, nil); status != denied {
		t.Errorf("bob gets sso-prod-web: %d %s", status, body)
	}
	if _, body, _ := api.do("GET", "/api/v1/session/userinfo", bobToken, nil); !strings.Contains(string(body), `"username":"bob"`) {
		t.Errorf("bob's userinfo: %s", body)
	}

	// Tokens that must not let anyone in.
	loginCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	otherApp, err := op.IDToken(loginCtx, "other-app", "alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	forged, err := op.SignWithForeignKey(map[string]any{"iss": op.Issuer, "sub": "alice", "aud": "tether",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "groups": []string{"production-app-developers"}})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := op.Sign(map[string]any{"iss": op.Issuer, "sub": "alice", "aud": "tether",
		"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(), "groups": []string{"production-app-developers"}})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := op.Sign(map[string]any{"iss": "https://elsewhere.example", "sub": "alice", "aud": "tether",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "groups": []string{"production-app-developers"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		// CVE-2022-29165 / GHSA-q9hr-j4rf-8fjc: an ID token of the same
		// provider for another client.
		"another audience (CVE-2022-29165)": otherApp,
		"signed by another key":             forged,
		"expired":                           expired,
		"another issuer":                    elsewhere,
	} {
		for _, path := range []string{"/api/v1/applications/sso-prod-web", "/api/v1/applications"} {
			if status, body, _ := api.do("GET", path, token, nil); status != unauth {
				t.Errorf("GET %s with a token %s: %d %s, want 401", path, name, status, body)
			}
		}
		if _, body, _ := api.do("GET", "/api/v1/session/userinfo", token, nil); !strings.Contains(string(body), `"loggedIn":false`) {
			t.Errorf("userinfo with a token %s: %s", name, body)
		}
	}

	// A callback whose state is not the login's is refused.
	if status, _, _ := api.do("GET", "/auth/callback?code=x&state=y", "", nil); status != http.StatusBadRequest {
		t.Errorf("callback without a login in progress: %d, want 400", status)
	}

	// Neither the client secret, the passwords nor a token reach the log.
	for _, s := range []string{ssoClientSecret, "alice-password", "bob-password", aliceToken, bobToken, otherApp} {
		if strings.Contains(tether.Logs.String(), s) {
			t.Error("tether's log holds a secret or a token")
		}
	}
}

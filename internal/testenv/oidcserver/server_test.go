package oidcserver_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

func newServer(t *testing.T) *oidcserver.Server {
	return oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{
			{ID: "app", Secret: "app-secret", RedirectURIs: []string{"https://app.example/callback"}},
			{ID: "other", Secret: "other-secret", RedirectURIs: []string{"https://other.example/callback"}},
		},
		Users: []oidcserver.User{
			{Subject: "alice", Password: "alice-pw", Email: "alice@example.com", Groups: []string{"devs", "ops"}},
			{Subject: "bob", Username: "bob@example.com", Password: "bob-pw"},
		},
	})
}

func verifier(t *testing.T, srv *oidcserver.Server, clientID string) *oidc.IDTokenVerifier {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), srv.HTTPClient())
	p, err := oidc.NewProvider(ctx, srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&oidc.Config{ClientID: clientID})
}

// TestIDTokenCarriesGroups runs the authorization-code flow and checks the
// ID token with an independent OIDC client library.
func TestIDTokenCarriesGroups(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := srv.IDToken(ctx, "app", "alice")
	if err != nil {
		t.Fatal(err)
	}
	id, err := verifier(t, srv, "app").Verify(oidc.ClientContext(ctx, srv.HTTPClient()), raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" || claims.Email != "alice@example.com" || !slices.Equal(claims.Groups, []string{"devs", "ops"}) || id.Nonce == "" {
		t.Errorf("ID token: sub %q email %q groups %v nonce %q", id.Subject, claims.Email, claims.Groups, id.Nonce)
	}
	if _, err := verifier(t, srv, "other").Verify(ctx, raw); err == nil {
		t.Error("a token of client app verifies for client other")
	}

	// A user with another username and no groups.
	raw, err = srv.IDToken(ctx, "other", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := verifier(t, srv, "other").Verify(ctx, raw); err != nil || id.Subject != "bob" {
		t.Errorf("bob's token: %v", err)
	}
}

// TestLoginForm: a wrong password is refused on the form; nothing reaches
// the redirect URI.
func TestLoginForm(t *testing.T) {
	srv := newServer(t)
	browser := srv.HTTPClient()
	q := url.Values{"client_id": {"app"}, "redirect_uri": {"https://app.example/callback"},
		"response_type": {"code"}, "scope": {"openid groups"}, "state": {"s"}}
	resp, err := browser.Get(srv.Issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("authorize: %s at %s", resp.Status, resp.Request.URL)
	}
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"username": {"alice"}, "password": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %s", resp.Status)
	}

	// An unregistered redirect URI never gets to the login form.
	q.Set("redirect_uri", "https://evil.example/callback")
	resp, err = browser.Get(srv.Issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path == "/login" || strings.HasPrefix(resp.Request.URL.String(), "https://evil.example") {
		t.Errorf("unregistered redirect URI: ended at %s", resp.Request.URL)
	}
}

// TestSign: Sign makes tokens the provider's keys verify; SignWithForeignKey
// makes tokens they do not.
func TestSign(t *testing.T) {
	srv := newServer(t)
	ctx := oidc.ClientContext(context.Background(), srv.HTTPClient())
	claims := map[string]any{"iss": srv.Issuer, "sub": "mallory", "aud": "app", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	good, err := srv.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, srv, "app").Verify(ctx, good); err != nil {
		t.Errorf("Sign: %v", err)
	}
	forged, err := srv.SignWithForeignKey(claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, srv, "app").Verify(ctx, forged); err == nil {
		t.Error("a token signed with a foreign key verifies")
	}
}

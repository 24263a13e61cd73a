package oidcserver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
)

// ScopeGroups is the scope that asks for the groups claim.
const ScopeGroups = "groups"

// extraScopes are the scopes clients may ask for besides OpenID's own.
var extraScopes = []string{ScopeGroups}

// loginPath is the login form's path.
const loginPath = "/login"

// User is a person who can log in at the provider.
type User struct {
	// Subject is the sub claim of the user's tokens; required.
	Subject string
	// Username is what the login form takes; Subject when empty.
	Username string
	// Password is what the login form takes; a user without one cannot
	// log in.
	Password string
	// Email is the email claim (scope "email").
	Email string
	// Groups is the groups claim (scope "groups").
	Groups []string
}

// Client is a relying party registered at the provider.
type Client struct {
	// ID is the client_id, and the audience of its ID tokens; required.
	ID string
	// Secret is the client secret (HTTP basic or form post); empty for a
	// public client.
	Secret string
	// RedirectURIs are the only redirect_uri values accepted, exactly.
	RedirectURIs []string
	// TokenLifetime is how long its ID tokens last; an hour when zero.
	TokenLifetime time.Duration
	// Native registers a native application, such as a CLI, instead of a
	// web one: its redirect URIs may be http:// on localhost or a
	// loopback address, as RFC 8252 has it, even without a secret (a
	// public client must then send PKCE).
	Native bool
}

// Options are a provider's clients and users.
type Options struct {
	// Clients are the registered relying parties.
	Clients []Client
	// Users are the people who can log in.
	Users []User
}

// Server is a running OpenID Provider. Make one with New.
type Server struct {
	// Issuer is the provider's issuer URL: https://127.0.0.1:PORT.
	Issuer string
	// CACert is the PEM certificate the provider serves with, for a
	// relying party's trust (Argo CD's oidc.config rootCA).
	CACert string

	http     *httptest.Server
	provider *op.Provider
	storage  *storage
	pool     *x509.CertPool
}

// New starts a provider on a free loopback port and stops it when the
// test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a provider on a free loopback port; Close stops it.
func Start(opts Options) (*Server, error) {
	store, err := newStorage(opts.Clients, opts.Users)
	if err != nil {
		return nil, err
	}
	ts := httptest.NewUnstartedServer(nil)
	issuer := "https://" + ts.Listener.Addr().String()
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		ts.Close()
		return nil, fmt.Errorf("oidcserver: %w", err)
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:       cryptoKey,
		CodeMethodS256:  true,
		AuthMethodPost:  true,
		SupportedScopes: append([]string{"openid", "profile", "email"}, extraScopes...),
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "nonce", "email", "email_verified", "name", "preferred_username", "groups"},
	}, store, op.StaticIssuer(issuer))
	if err != nil {
		ts.Close()
		return nil, fmt.Errorf("oidcserver: provider: %w", err)
	}
	s := &Server{Issuer: issuer, http: ts, provider: provider, storage: store}
	mux := http.NewServeMux()
	mux.HandleFunc(loginPath, s.login)
	mux.Handle("/", provider)
	ts.Config.Handler = mux
	ts.StartTLS()
	cert := ts.Certificate()
	s.CACert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	s.pool = x509.NewCertPool()
	s.pool.AddCert(cert)
	return s, nil
}

// Close stops the provider: from then on it refuses connections.
func (s *Server) Close() { s.http.Close() }

// HTTPClient is a client that trusts the provider's certificate (and no
// other), with a cookie jar, following redirects as a browser does.
func (s *Server) HTTPClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
	}}
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html><body><h1>Log in</h1>{{if .}}<p role="alert">{{.}}</p>{{end}}
<form method="post">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button>
</form></body></html>
`))

// login is the login form: GET shows it, POST checks the user and sends
// the browser back through the authorization callback.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if id == "" {
		http.Error(w, "missing authRequestID", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.Method {
	case http.MethodGet:
		_ = loginForm.Execute(w, "")
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.storage.checkPassword(id, r.PostForm.Get("username"), r.PostForm.Get("password")); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_ = loginForm.Execute(w, err.Error())
			return
		}
		callback := op.AuthCallbackURL(s.provider)(op.ContextWithIssuer(r.Context(), s.Issuer), id)
		http.Redirect(w, r, callback, http.StatusFound)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// IDToken runs the authorization-code flow (with PKCE and a nonce) for
// clientID as the user named username would in a browser, and returns
// the ID token the provider issued. The code is delivered to the
// client's first redirect URI, which is never called.
func (s *Server) IDToken(ctx context.Context, clientID, username string) (string, error) {
	c, user, err := s.clientAndUser(clientID, username)
	if err != nil {
		return "", err
	}
	if len(c.Client.RedirectURIs) == 0 {
		return "", fmt.Errorf("oidcserver: client %s has no redirect URI", clientID)
	}
	redirect := c.Client.RedirectURIs[0]
	cfg := oauth2.Config{
		ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: s.provider.AuthorizationEndpoint().Absolute(s.Issuer),
			TokenURL: s.provider.TokenEndpoint().Absolute(s.Issuer)},
		Scopes: []string{"openid", "profile", "email", ScopeGroups},
	}
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	browser := s.HTTPClient()
	browser.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	authURL := cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", rand.Text()), oauth2.S256ChallengeOption(verifier))
	page, err := do(ctx, browser, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	if page.StatusCode != http.StatusOK || page.Request.URL.Path != loginPath {
		return "", fmt.Errorf("oidcserver: authorize for %s: %s at %s, want the login form", clientID, page.Status, page.Request.URL.Path)
	}
	form := url.Values{"username": {user.Username}, "password": {user.Password}}
	resp, err := do(ctx, browser, http.MethodPost, page.Request.URL.String(), form)
	if err != nil {
		return "", err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("oidcserver: login of %s at %s: %s, no code in the redirect %q", username, clientID, resp.Status, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != state {
		return "", fmt.Errorf("oidcserver: login of %s: state changed on the way", username)
	}
	token, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, browser), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("oidcserver: exchange the code of %s at %s: %w", username, clientID, err)
	}
	raw, ok := token.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", fmt.Errorf("oidcserver: the token response for %s has no id_token", clientID)
	}
	return raw, nil
}

func (s *Server) clientAndUser(clientID, username string) (*client, *User, error) {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	c, ok := s.storage.clients[clientID]
	if !ok {
		return nil, nil, fmt.Errorf("oidcserver: no client %s", clientID)
	}
	for _, u := range s.storage.users {
		if u.Username == username {
			return c, u, nil
		}
	}
	return nil, nil, fmt.Errorf("oidcserver: no user %s", username)
}

// do sends a request (a form when form is not nil) and reads the answer
// away, so that the connection is reused.
func do(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, error) {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("oidcserver: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidcserver: %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, nil
}

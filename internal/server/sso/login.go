package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Paths of the browser login, Argo CD's.
const (
	// LoginPath starts a login: GET /auth/login?return_url=...
	LoginPath = "/auth/login"
	// CallbackPath is where the provider sends the browser back to.
	CallbackPath = "/auth/callback"
)

// TokenCookie is the cookie the server reads tokens from; a login sets it
// to the raw ID token.
const TokenCookie = "argocd.token"

// maxCookieValue is the most of a token one cookie carries; a longer token
// is split as the server reads it: "argocd.token=<n>:<part>", then
// "argocd.token-1", ... (Argo CD's scheme).
const maxCookieValue = 3800

// maxCookieParts bounds how many parts a token may be split into (the
// server reads no more).
const maxCookieParts = 20

// ServeHTTP serves GET /auth/login and GET /auth/callback.
func (rp *RelyingParty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case LoginPath:
		rp.login(w, r)
	case CallbackPath:
		rp.callback(w, r)
	default:
		http.NotFound(w, r)
	}
}

// loginConfig is the configuration a login needs, or the answer to give
// when there is none.
func (rp *RelyingParty) loginConfig(w http.ResponseWriter) *Config {
	c, err := rp.config()
	switch {
	case err != nil:
		http.Error(w, "SSO is misconfigured (argocd-cm oidc.config); the server's log says why", http.StatusInternalServerError)
	case c == nil:
		http.Error(w, errNotConfigured.Error(), http.StatusNotFound)
	case c.URL == "":
		http.Error(w, "SSO needs argocd-cm url, the server's external URL, to build the redirect URI <url>/auth/callback", http.StatusServiceUnavailable)
	default:
		return c
	}
	return nil
}

// login sends the browser to the provider with a fresh state and nonce,
// remembered in a signed, short-lived, HttpOnly cookie.
func (rp *RelyingParty) login(w http.ResponseWriter, r *http.Request) {
	c := rp.loginConfig(w)
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rp.timeout)
	defer cancel()
	p, _, err := rp.provider(ctx, c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	key, err := stateKey(rp.settings.Secret())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	st := loginState{State: rand.Text(), Nonce: rand.Text(), ReturnURL: ReturnURL(r.URL.Query().Get("return_url"), c.URL),
		Expires: time.Now().Add(stateLifetime).Unix()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce)}
	if c.EnablePKCEAuthentication {
		st.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(st.Verifier))
	}
	if len(c.RequestedIDTokenClaims) > 0 {
		claims, err := json.Marshal(map[string]any{"id_token": c.RequestedIDTokenClaims})
		if err != nil {
			http.Error(w, "oidc.config requestedIDTokenClaims: "+err.Error(), http.StatusInternalServerError)
			return
		}
		opts = append(opts, oauth2.SetAuthURLParam("claims", string(claims)))
	}
	sealed, err := sealState(st, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: sealed, Path: "/auth/", MaxAge: int(stateLifetime / time.Second),
		HttpOnly: true, Secure: secure(r, c), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, oauthConfig(c, p).AuthCodeURL(st.State, opts...), http.StatusSeeOther)
}

// callback finishes a login: the state must match the cookie's, the code
// is exchanged, the ID token verified (nonce included), and the browser
// gets it in the token cookie.
func (rp *RelyingParty) callback(w http.ResponseWriter, r *http.Request) {
	c := rp.loginConfig(w)
	if c == nil {
		return
	}
	q := r.URL.Query()
	// The state cookie is for one attempt, whatever its outcome.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: secure(r, c), SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		http.Error(w, fmt.Sprintf("the provider refused the login: %s: %s", e, q.Get("error_description")), http.StatusUnauthorized)
		return
	}
	st, err := rp.checkState(r)
	if err != nil {
		http.Error(w, err.Error()+": start again at "+LoginPath, http.StatusBadRequest)
		return
	}
	code := q.Get("code")
	if code == "" {
		http.Error(w, "the provider sent no code", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rp.timeout)
	defer cancel()
	token, err := rp.exchange(ctx, c, st, code)
	if err != nil {
		rp.log.Error(err, "SSO login failed")
		http.Error(w, "login failed: "+err.Error(), http.StatusUnauthorized)
		return
	}
	if err := setTokenCookie(w, token, secure(r, c)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, st.ReturnURL, http.StatusSeeOther)
}

// checkState opens the state cookie and compares its state with the
// query's.
func (rp *RelyingParty) checkState(r *http.Request) (*loginState, error) {
	cookie, err := r.Cookie(stateCookie)
	if err != nil {
		return nil, errors.New("no login in progress (the state cookie is missing)")
	}
	key, err := stateKey(rp.settings.Secret())
	if err != nil {
		return nil, err
	}
	st, err := openState(cookie.Value, key, time.Now())
	if err != nil {
		return nil, err
	}
	if got := r.URL.Query().Get("state"); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) != 1 {
		return nil, errors.New("the state does not match the login in progress")
	}
	return st, nil
}

// exchange trades code for tokens and returns the verified ID token.
func (rp *RelyingParty) exchange(ctx context.Context, c *Config, st *loginState, code string) (string, error) {
	p, client, err := rp.provider(ctx, c)
	if err != nil {
		return "", err
	}
	ctx = oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, client), client)
	var opts []oauth2.AuthCodeOption
	if st.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(st.Verifier))
	}
	token, err := oauthConfig(c, p).Exchange(ctx, code, opts...)
	if err != nil {
		return "", fmt.Errorf("exchange the code at %s: %w", c.Issuer, err)
	}
	raw, ok := token.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", fmt.Errorf("%s answered no id_token (is openid among requestedScopes?)", c.Issuer)
	}
	id, err := rp.verifyIDToken(ctx, c, p, raw)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(st.Nonce)) != 1 {
		return "", errors.New("the ID token's nonce is not this login's")
	}
	rp.log.Info("SSO login", "issuer", id.Issuer, "subject", id.Subject)
	return raw, nil
}

func oauthConfig(c *Config, p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: c.RedirectURL(), Scopes: c.RequestedScopes}
}

// secure says whether cookies get the Secure flag: when the request came
// over TLS or the external URL is https (TLS ends at a proxy).
func secure(r *http.Request, c *Config) bool {
	return r.TLS != nil || strings.HasPrefix(c.URL, "https://")
}

// setTokenCookie sets the token cookie (HttpOnly, SameSite=Lax), split
// into parts when the token is too long for one.
func setTokenCookie(w http.ResponseWriter, token string, secure bool) error {
	set := func(name, value string) {
		http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	}
	if len(token) <= maxCookieValue {
		set(TokenCookie, token)
		return nil
	}
	n := (len(token) + maxCookieValue - 1) / maxCookieValue
	if n > maxCookieParts {
		return fmt.Errorf("the ID token is %d bytes, more than %d cookies carry: ask the provider for fewer claims (groups?)", len(token), maxCookieParts)
	}
	for i := range n {
		part := token[i*maxCookieValue : min((i+1)*maxCookieValue, len(token))]
		if i == 0 {
			set(TokenCookie, strconv.Itoa(n)+":"+part)
		} else {
			set(TokenCookie+"-"+strconv.Itoa(i), part)
		}
	}
	return nil
}

package sso

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// stateCookie is the cookie that carries a login from /auth/login to
// /auth/callback, as Argo CD names it.
const stateCookie = "argocd.oauthstate"

// stateLifetime bounds how long a login may take at the provider.
const stateLifetime = 5 * time.Minute

// loginState is what the callback needs to finish a login. It travels in
// the state cookie, signed with a key derived from argocd-secret
// server.secretkey, so that any replica can finish a login another began
// and no one can change where it returns to.
type loginState struct {
	// State is the state parameter sent to the provider.
	State string `json:"s"`
	// Nonce is the nonce the ID token must carry.
	Nonce string `json:"n"`
	// Verifier is the PKCE code verifier; empty without PKCE.
	Verifier string `json:"v,omitempty"`
	// ReturnURL is where the browser goes after the login (checked).
	ReturnURL string `json:"r"`
	// Expires is when the login is too old to finish (Unix seconds).
	Expires int64 `json:"e"`
}

// stateKey derives the state cookie's HMAC key from the server's token
// signing key, so that it is the same on every replica and changes with
// it.
func stateKey(secret map[string][]byte) ([]byte, error) {
	key := secret["server.secretkey"]
	if len(key) == 0 {
		return nil, errors.New("argocd-secret has no server.secretkey yet (the server makes it at start)")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("tether sso login state"))
	return mac.Sum(nil), nil
}

func sealState(s loginState, key []byte) (string, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("login state: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// openState checks the cookie's signature and age and returns the state.
func openState(value string, key []byte, now time.Time) (*loginState, error) {
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(value, ".")
	payload, err1 := enc.DecodeString(p)
	sum, err2 := enc.DecodeString(m)
	if !ok || err1 != nil || err2 != nil {
		return nil, errors.New("login state cookie is malformed")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return nil, errors.New("login state cookie is not signed by this server")
	}
	var s loginState
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("login state cookie: %w", err)
	}
	if now.Unix() > s.Expires {
		return nil, errors.New("login took too long")
	}
	return &s, nil
}

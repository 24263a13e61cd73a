package oidcserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the provider's in-memory op.Storage: registered clients and
// users, pending authorization requests, codes and access tokens, and one
// RSA signing key.
type storage struct {
	key *signingKey

	mu       sync.Mutex
	clients  map[string]*client
	users    map[string]*User // by subject
	requests map[string]*authRequest
	codes    map[string]string // code -> request id
	tokens   map[string]*accessToken
}

var _ op.Storage = (*storage)(nil)

// signingKey is the provider's RS256 key; it is both op.SigningKey (the
// private half) and, through public, op.Key (published in JWKS).
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

// accessToken is an opaque access token the provider issued.
type accessToken struct {
	id, clientID, subject string
	audience, scopes      []string
	expiry                time.Time
}

func newStorage(clients []Client, users []User) (*storage, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidcserver: signing key: %w", err)
	}
	s := &storage{
		key:      &signingKey{id: rand.Text(), key: key},
		clients:  map[string]*client{},
		users:    map[string]*User{},
		requests: map[string]*authRequest{},
		codes:    map[string]string{},
		tokens:   map[string]*accessToken{},
	}
	for _, c := range clients {
		if c.ID == "" {
			return nil, errors.New("oidcserver: a client has no ID")
		}
		s.clients[c.ID] = &client{Client: c}
	}
	for i := range users {
		u := users[i]
		if u.Subject == "" {
			return nil, errors.New("oidcserver: a user has no Subject")
		}
		if u.Username == "" {
			u.Username = u.Subject
		}
		s.users[u.Subject] = &u
	}
	return s, nil
}

// checkPassword marks request id as authenticated as the user named
// username when password is theirs.
func (s *storage) checkPassword(id, username, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return errors.New("unknown or expired login request")
	}
	for _, u := range s.users {
		if u.Username == username && u.Password == password && password != "" {
			req.subject, req.done, req.authTime = u.Subject, true, time.Now()
			return nil
		}
	}
	return errors.New("wrong username or password")
}

// CreateAuthRequest records a validated authorization request.
func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if len(r.Prompt) == 1 && r.Prompt[0] == oidc.PromptNone {
		return nil, oidc.ErrLoginRequired()
	}
	req := &authRequest{
		id: rand.Text(), clientID: r.ClientID, redirectURI: r.RedirectURI, state: r.State,
		nonce: r.Nonce, scopes: r.Scopes, responseType: r.ResponseType, responseMode: r.ResponseMode,
		subject: userID,
	}
	if r.CodeChallenge != "" {
		req.challenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[req.id] = req
	return req, nil
}

// AuthRequestByID finds a pending request.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return nil, errors.New("auth request not found")
	}
	return req, nil
}

// AuthRequestByCode finds the request a code was issued for.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code invalid or expired")
	}
	return s.AuthRequestByID(ctx, id)
}

// SaveAuthCode records the code issued for request id.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest forgets a request and its code: a code is used once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// CreateAccessToken issues an opaque access token.
func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	t := &accessToken{id: rand.Text(), subject: r.GetSubject(), audience: r.GetAudience(),
		scopes: r.GetScopes(), expiry: time.Now().Add(5 * time.Minute)}
	if req, ok := r.(*authRequest); ok {
		t.clientID = req.clientID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.id] = t
	return t.id, t.expiry, nil
}

// CreateAccessAndRefreshTokens is not supported: no refresh tokens.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("refresh tokens are not supported")
}

// TokenRequestByRefreshToken is not supported: no refresh tokens.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession drops the user's tokens for a client.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

// RevokeToken drops an access token of clientID.
func (s *storage) RevokeToken(_ context.Context, token, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[token]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		delete(s.tokens, token)
	}
	return nil
}

// GetRefreshTokenInfo is not supported: no refresh tokens.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey is the key ID tokens are signed with.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

// SignatureAlgorithms lists RS256 only.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet is the JWKS: the signing key's public half.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

// GetClientByClientID finds a registered client.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("client %q not found", id)
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok || c.Secret == "" || c.Secret != secret {
		return errors.New("invalid client credentials")
	}
	return nil
}

// SetUserinfoFromScopes fills the ID token's (and userinfo's) claims:
// sub; email with "email"; preferred_username and name with "profile";
// groups with "groups".
func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	s.mu.Lock()
	u, ok := s.users[userID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("user %q not found", userID)
	}
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeOpenID:
			info.Subject = u.Subject
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = u.Email, oidc.Bool(u.Email != "")
		case oidc.ScopeProfile:
			info.PreferredUsername, info.Name = u.Username, u.Username
		case ScopeGroups:
			info.AppendClaims("groups", append([]string{}, u.Groups...))
		}
	}
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint for an access token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expiry) {
		return errors.New("access token is invalid or expired")
	}
	return s.SetUserinfoFromScopes(ctx, info, t.subject, t.clientID, t.scopes)
}

// SetIntrospectionFromToken answers introspection for clientID's tokens.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expiry) {
		return errors.New("access token is invalid or expired")
	}
	info := new(oidc.UserInfo)
	if err := s.SetUserinfoFromScopes(ctx, info, subject, clientID, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope, resp.ClientID, resp.Expiration = t.scopes, t.clientID, oidc.FromTime(t.expiry)
	return nil
}

// GetPrivateClaimsFromScopes adds no private claims.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is for JWT profile grants, which are not
// supported.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

// ValidateJWTProfileScopes is for JWT profile grants: openid only.
func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	var allowed []string
	for _, scope := range scopes {
		if scope == oidc.ScopeOpenID {
			allowed = append(allowed, scope)
		}
	}
	return allowed, nil
}

// Health is always fine.
func (s *storage) Health(context.Context) error { return nil }

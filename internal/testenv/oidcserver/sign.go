package oidcserver

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Sign makes a JWT of claims signed with the provider's own key (RS256,
// its key ID): a token the provider could have issued, for tests of what
// a relying party checks besides the signature (issuer, audience,
// expiry).
func (s *Server) Sign(claims map[string]any) (string, error) {
	return sign(s.storage.key.key, s.storage.key.id, claims)
}

// SignWithForeignKey makes a JWT of claims under the provider's key ID
// but signed with a key the provider never published: a forgery that a
// relying party must refuse.
func (s *Server) SignWithForeignKey(claims map[string]any) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("oidcserver: %w", err)
	}
	return sign(key, s.storage.key.id, claims)
}

func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return "", fmt.Errorf("oidcserver: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidcserver: claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidcserver: sign: %w", err)
	}
	return jws.CompactSerialize()
}

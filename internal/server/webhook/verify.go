package webhook

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what GitHub's legacy header and Flux's generic-hmac offer
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// Errors of request verification; the server answers each with 400 and
// the message, which names no secret.
var (
	// ErrSignature: a signature header is missing or does not match.
	ErrSignature = errors.New("HMAC verification failed")
	// ErrToken: a shared token header is missing or does not match.
	ErrToken = errors.New("token verification failed")
)

// VerifyHMAC checks sig, the hex HMAC of body keyed with secret, as
// "<algo>=<hex>" (algo sha1, sha256 or sha512) or, when prefix is false,
// bare hex of an HMAC-SHA256. The comparison takes constant time.
func VerifyHMAC(sig string, body []byte, secret string, prefixed bool) error {
	if secret == "" {
		return ErrSignature
	}
	algo, digest := "sha256", strings.TrimSpace(sig)
	if prefixed {
		var ok bool
		if algo, digest, ok = strings.Cut(digest, "="); !ok {
			return ErrSignature
		}
	}
	var h func() hash.Hash
	switch strings.ToLower(algo) {
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	default:
		return ErrSignature
	}
	got, err := hex.DecodeString(digest)
	if err != nil {
		return ErrSignature
	}
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrSignature
	}
	return nil
}

// VerifyGitHub checks GitHub's X-Hub-Signature-256 (sha256=<hex>), or the
// legacy X-Hub-Signature (sha1=<hex>) when a sender sends only that.
func VerifyGitHub(sig256, sig1 string, body []byte, secret string) error {
	if sig256 != "" {
		if !strings.HasPrefix(sig256, "sha256=") {
			return ErrSignature
		}
		return VerifyHMAC(sig256, body, secret, true)
	}
	if !strings.HasPrefix(sig1, "sha1=") {
		return ErrSignature
	}
	return VerifyHMAC(sig1, body, secret, true)
}

// VerifyToken compares a shared token in constant time (the length of
// want may leak; its content does not).
func VerifyToken(got, want string) error {
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ErrToken
	}
	return nil
}

package webhook

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the legacy header under test
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"testing"
)

func sign(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifyHMAC(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	const secret = "s3cret"
	for _, tc := range []struct {
		name, sig, secret string
		prefixed          bool
		ok                bool
	}{
		{"sha256", "sha256=" + sign(sha256.New, secret, body), secret, true, true},
		{"sha1", "sha1=" + sign(sha1.New, secret, body), secret, true, true},
		{"sha512", "sha512=" + sign(sha512.New, secret, body), secret, true, true},
		{"upper-case algorithm", "SHA256=" + sign(sha256.New, secret, body), secret, true, true},
		{"bare hex", sign(sha256.New, secret, body), secret, false, true},
		{"wrong secret", "sha256=" + sign(sha256.New, "other", body), secret, true, false},
		{"wrong algorithm name", "md5=" + sign(sha256.New, secret, body), secret, true, false},
		{"algorithm and digest disagree", "sha1=" + sign(sha256.New, secret, body), secret, true, false},
		{"missing", "", secret, true, false},
		{"no prefix where one is expected", sign(sha256.New, secret, body), secret, true, false},
		{"prefix where none is expected", "sha256=" + sign(sha256.New, secret, body), secret, false, false},
		{"not hex", "sha256=zz", secret, true, false},
		{"truncated", "sha256=" + sign(sha256.New, secret, body)[:10], secret, true, false},
		{"empty secret refuses all", "sha256=" + sign(sha256.New, "", body), "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyHMAC(tc.sig, body, tc.secret, tc.prefixed)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyHMAC = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("error %v is not ErrSignature", err)
			}
		})
	}
	if VerifyHMAC("sha256="+sign(sha256.New, secret, body), append(body, ' '), secret, true) == nil {
		t.Error("a changed body passed")
	}
}

func TestVerifyGitHub(t *testing.T) {
	body := []byte(`{}`)
	const secret = "gh"
	s256, s1 := "sha256="+sign(sha256.New, secret, body), "sha1="+sign(sha1.New, secret, body)
	for _, tc := range []struct {
		name, sig256, sig1 string
		ok                 bool
	}{
		{"sha256", s256, "", true},
		{"both", s256, s1, true},
		{"legacy sha1 alone", "", s1, true},
		{"bad sha256 with good sha1", "sha256=00", s1, false},
		{"sha1 in the sha256 header", s1, "", false},
		{"none", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifyGitHub(tc.sig256, tc.sig1, body, secret); (err == nil) != tc.ok {
				t.Errorf("VerifyGitHub = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestVerifyToken(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		ok        bool
	}{
		{"token", "token", true},
		{"token ", "token", false},
		{"Token", "token", false},
		{"", "token", false},
		{"", "", false},
		{"x", "", false},
	} {
		if err := VerifyToken(tc.got, tc.want); (err == nil) != tc.ok {
			t.Errorf("VerifyToken(%q, %q) = %v, want ok %v", tc.got, tc.want, err, tc.ok)
		}
	}
}

package sealedsecrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestScopeLabel(t *testing.T) {
	tests := []struct {
		scope Scope
		want  string
	}{
		{StrictScope, "prod/db"},
		{NamespaceWideScope, "prod"},
		{ClusterWideScope, ""},
		{Scope(7), "prod/db"},
	}
	for _, tt := range tests {
		if got := string(tt.scope.Label("prod", "db")); got != tt.want {
			t.Errorf("%s.Label = %q, want %q", tt.scope, got, tt.want)
		}
	}
}

func TestScopeOf(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        Scope
	}{
		{"none", nil, StrictScope},
		{"namespace-wide", map[string]string{"sealedsecrets.bitnami.com/namespace-wide": "true"}, NamespaceWideScope},
		{"cluster-wide", map[string]string{"sealedsecrets.bitnami.com/cluster-wide": "true"}, ClusterWideScope},
		{"cluster-wide wins", map[string]string{"sealedsecrets.bitnami.com/cluster-wide": "true", "sealedsecrets.bitnami.com/namespace-wide": "true"}, ClusterWideScope},
		{"only exact true", map[string]string{"sealedsecrets.bitnami.com/cluster-wide": "True"}, StrictScope},
		{"scope annotation is not read upstream", map[string]string{"sealedsecrets.bitnami.com/scope": "cluster-wide"}, StrictScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScopeOf(tt.annotations); got != tt.want {
				t.Errorf("ScopeOf = %s, want %s", got, tt.want)
			}
			if got := ScopeOf(ScopeAnnotations(nil, tt.want)); got != tt.want {
				t.Errorf("ScopeOf(ScopeAnnotations(%s)) = %s", tt.want, got)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []Scope{StrictScope, NamespaceWideScope, ClusterWideScope} {
		got, err := ParseScope(s.String())
		if err != nil || got != s {
			t.Errorf("ParseScope(%q) = %s, %v", s.String(), got, err)
		}
	}
	if got, err := ParseScope(""); err != nil || got != StrictScope {
		t.Errorf("ParseScope(\"\") = %s, %v", got, err)
	}
	if _, err := ParseScope("namespace"); err == nil {
		t.Error("ParseScope(\"namespace\") succeeded")
	}
}

// TestSealOpenScopes seals under one place and opens under another.
func TestSealOpenScopes(t *testing.T) {
	_, keys := keyPairs(t)
	pub := &keys[1].PublicKey
	type place struct{ ns, name string }
	tests := []struct {
		scope  Scope
		sealAt place
		openAt place
		opens  bool
	}{
		{StrictScope, place{"prod", "db"}, place{"prod", "db"}, true},
		{StrictScope, place{"prod", "db"}, place{"prod", "db2"}, false},
		{StrictScope, place{"prod", "db"}, place{"staging", "db"}, false},
		{NamespaceWideScope, place{"prod", "db"}, place{"prod", "db"}, true},
		{NamespaceWideScope, place{"prod", "db"}, place{"prod", "renamed"}, true},
		{NamespaceWideScope, place{"prod", "db"}, place{"staging", "db"}, false},
		{ClusterWideScope, place{"prod", "db"}, place{"prod", "db"}, true},
		{ClusterWideScope, place{"prod", "db"}, place{"staging", "other"}, true},
		{ClusterWideScope, place{"", ""}, place{"anywhere", "x"}, true},
	}
	plaintext := []byte("s3cret value\x00with bytes")
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s/%s to %s/%s", tt.scope, tt.sealAt.ns, tt.sealAt.name, tt.openAt.ns, tt.openAt.name)
		t.Run(name, func(t *testing.T) {
			sealed, err := Seal(pub, tt.scope, tt.sealAt.ns, tt.sealAt.name, plaintext)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			got, err := Open(keys, tt.scope, tt.openAt.ns, tt.openAt.name, sealed)
			if !tt.opens {
				if !errors.Is(err, ErrCannotDecrypt) {
					t.Fatalf("Open = %q, %v; want ErrCannotDecrypt", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, plaintext) {
				t.Fatalf("Open = %q, %v; want %q", got, err, plaintext)
			}
		})
	}
}

// TestOpenWrongScope: a value opens only under the scope it was sealed for.
func TestOpenWrongScope(t *testing.T) {
	_, keys := keyPairs(t)
	sealed, err := Seal(&keys[0].PublicKey, NamespaceWideScope, "prod", "db", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Scope{StrictScope, ClusterWideScope} {
		if _, err := Open(keys, s, "prod", "db", sealed); !errors.Is(err, ErrCannotDecrypt) {
			t.Errorf("Open as %s: %v, want ErrCannotDecrypt", s, err)
		}
	}
}

func TestSealRequiresPlace(t *testing.T) {
	_, keys := keyPairs(t)
	pub := &keys[0].PublicKey
	tests := []struct {
		scope     Scope
		ns, name  string
		wantError bool
	}{
		{StrictScope, "", "db", true},
		{StrictScope, "prod", "", true},
		{NamespaceWideScope, "", "db", true},
		{NamespaceWideScope, "prod", "", false},
		{ClusterWideScope, "", "", false},
	}
	for _, tt := range tests {
		_, err := Seal(pub, tt.scope, tt.ns, tt.name, []byte("v"))
		if (err != nil) != tt.wantError {
			t.Errorf("Seal(%s, %q, %q) error = %v, want error %v", tt.scope, tt.ns, tt.name, err, tt.wantError)
		}
	}
	if _, err := Seal(nil, ClusterWideScope, "", "", nil); err == nil {
		t.Error("Seal with a nil key succeeded")
	}
}

// TestOpenKeyRotation: a value sealed with an old key still opens once a
// newer key is added ahead of it; a key not in the list does not open it.
func TestOpenKeyRotation(t *testing.T) {
	_, keys := keyPairs(t)
	old, newer, unrelated := keys[0], keys[1], keys[2]
	sealedOld, err := Seal(&old.PublicKey, StrictScope, "prod", "db", []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		keys  []*rsa.PrivateKey
		opens bool
	}{
		{"only old", []*rsa.PrivateKey{old}, true},
		{"new then old", []*rsa.PrivateKey{newer, old}, true},
		{"nil key skipped", []*rsa.PrivateKey{nil, newer, old}, true},
		{"without old", []*rsa.PrivateKey{newer, unrelated}, false},
		{"no keys", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.keys, StrictScope, "prod", "db", sealedOld)
			if tt.opens != (err == nil) {
				t.Fatalf("Open = %q, %v; want opens=%v", got, err, tt.opens)
			}
			if err != nil && !errors.Is(err, ErrCannotDecrypt) {
				t.Fatalf("error %v is not ErrCannotDecrypt", err)
			}
		})
	}
}

// TestOpenErrorsCarryNoDetail: the error says "cannot decrypt" and
// nothing of the value, the key or the label.
func TestOpenErrorsCarryNoDetail(t *testing.T) {
	_, keys := keyPairs(t)
	sealed, err := Seal(&keys[0].PublicKey, StrictScope, "prod", "db", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, ct := range map[string][]byte{
		"tampered tag": tampered,
		"empty":        nil,
		"one byte":     {0x02},
		"short":        {0x02, 0x00, 0x01},
	} {
		_, err := Open(keys, StrictScope, "prod", "db", ct)
		if err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
			t.Errorf("%s: error %v does not say cannot decrypt", name, err)
		}
		for _, leak := range []string{"hunter2", "prod/db", "crypto/rsa", "cipher"} {
			if err != nil && strings.Contains(err.Error(), leak) {
				t.Errorf("%s: error %q mentions %q", name, err, leak)
			}
		}
	}
}

// TestSealFormat checks the wire layout Seal produces.
func TestSealFormat(t *testing.T) {
	_, keys := keyPairs(t)
	plaintext := []byte("twelve bytes")
	sealed, err := Seal(&keys[0].PublicKey, StrictScope, "prod", "db", plaintext)
	if err != nil {
		t.Fatal(err)
	}
	rsaLen := int(binary.BigEndian.Uint16(sealed))
	if rsaLen != keys[0].Size() {
		t.Errorf("length prefix = %d, want the RSA modulus size %d", rsaLen, keys[0].Size())
	}
	if want := 2 + rsaLen + len(plaintext) + 16; len(sealed) != want {
		t.Errorf("len = %d, want 2 + %d + %d + 16 (GCM tag)", len(sealed), rsaLen, len(plaintext))
	}
	again, err := Seal(&keys[0].PublicKey, StrictScope, "prod", "db", plaintext)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal; the session key must be fresh")
	}
}

// bitnamiHybridEncrypt is an independent encoder that follows Bitnami's
// pkg/crypto/crypto.go HybridEncrypt (github.com/bitnami-labs/sealed-secrets)
// statement by statement, with the label of pkg/apis/sealedsecrets/v1alpha1
// sealedsecret_expansion.go EncryptionLabel, so that Open is checked against
// upstream's code path rather than against Seal.
func bitnamiHybridEncrypt(rnd io.Reader, pubKey *rsa.PublicKey, plaintext, label []byte) ([]byte, error) {
	// Generate a random symmetric key
	sessionKey := make([]byte, 32) // sessionKeyBytes = 32
	if _, err := io.ReadFull(rnd, sessionKey); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		return nil, err
	}
	aed, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// Encrypt symmetric key
	rsaCiphertext, err := rsa.EncryptOAEP(sha256.New(), rnd, pubKey, sessionKey, label)
	if err != nil {
		return nil, err
	}
	// First 2 bytes are RSA ciphertext length
	ciphertext := make([]byte, 2)
	binary.BigEndian.PutUint16(ciphertext, uint16(len(rsaCiphertext)))
	ciphertext = append(ciphertext, rsaCiphertext...)
	// SessionKey is only used once, so zero nonce is ok
	zeroNonce := make([]byte, aed.NonceSize())
	// Append symmetrically encrypted Secret
	return aed.Seal(ciphertext, zeroNonce, plaintext, nil), nil
}

// bitnamiEncryptionLabel follows upstream's EncryptionLabel.
func bitnamiEncryptionLabel(namespace, name string, scope Scope) []byte {
	switch scope {
	case ClusterWideScope:
		return []byte("")
	case NamespaceWideScope:
		return []byte(namespace)
	default:
		return []byte(fmt.Sprintf("%s/%s", namespace, name))
	}
}

// TestOpenBitnamiVector opens values made by upstream's code path, through
// the base64 that NewSealedSecret writes to spec.encryptedData.
func TestOpenBitnamiVector(t *testing.T) {
	_, keys := keyPairs(t)
	for _, scope := range []Scope{StrictScope, NamespaceWideScope, ClusterWideScope} {
		t.Run(scope.String(), func(t *testing.T) {
			want := []byte("postgres://user:pw@db:5432/app")
			ct, err := bitnamiHybridEncrypt(rand.Reader, &keys[1].PublicKey, want, bitnamiEncryptionLabel("production", "database-credentials", scope))
			if err != nil {
				t.Fatal(err)
			}
			encoded := base64.StdEncoding.EncodeToString(ct)
			raw, err := base64.StdEncoding.DecodeString(encoded)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Open(keys, scope, "production", "database-credentials", raw)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Open = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// TestSealDeterministicMatchesBitnami: with the same random stream, our
// encoder and upstream's produce the same bytes.
func TestSealDeterministicMatchesBitnami(t *testing.T) {
	_, keys := keyPairs(t)
	label := StrictScope.Label("prod", "db")
	stream := bytes.Repeat([]byte{0x5a, 0xa5, 0x3c}, 4096)
	ours, err := hybridEncrypt(bytes.NewReader(stream), &keys[0].PublicKey, []byte("v"), label)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := bitnamiHybridEncrypt(bytes.NewReader(stream), &keys[0].PublicKey, []byte("v"), bitnamiEncryptionLabel("prod", "db", StrictScope))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, theirs) {
		t.Error("hybridEncrypt and upstream's HybridEncrypt differ for the same random stream")
	}
}

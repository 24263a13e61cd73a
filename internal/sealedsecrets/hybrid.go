package sealedsecrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// sessionKeyBytes is the AES-256 session key size upstream uses.
const sessionKeyBytes = 32

// ErrCannotDecrypt is returned, possibly wrapped, when no key opens a value
// for the scope, name and namespace given. It deliberately carries no
// detail from the failed attempts.
var ErrCannotDecrypt = errors.New("cannot decrypt: no sealing key opens this value for its scope, name and namespace")

// ErrNoKey is returned, possibly wrapped, while the controller's namespace
// holds no sealing key yet.
var ErrNoKey = errors.New("no sealing key yet")

// Seal encrypts plaintext for pub so that it opens only under scope's label
// for namespace and name. The output is what Bitnami's HybridEncrypt
// produces; encode it with base64.StdEncoding for spec.encryptedData.
func Seal(pub *rsa.PublicKey, scope Scope, namespace, name string, plaintext []byte) ([]byte, error) {
	if pub == nil {
		return nil, errors.New("seal: no public key")
	}
	if scope != ClusterWideScope && namespace == "" {
		return nil, fmt.Errorf("seal %s-scoped value: a namespace is required", scope)
	}
	if scope == StrictScope && name == "" {
		return nil, errors.New("seal strict-scoped value: a name is required")
	}
	return hybridEncrypt(rand.Reader, pub, plaintext, scope.Label(namespace, name))
}

// hybridEncrypt follows Bitnami's pkg/crypto/crypto.go HybridEncrypt.
func hybridEncrypt(rnd io.Reader, pub *rsa.PublicKey, plaintext, label []byte) ([]byte, error) {
	sessionKey := make([]byte, sessionKeyBytes)
	if _, err := io.ReadFull(rnd, sessionKey); err != nil {
		return nil, fmt.Errorf("seal: read session key: %w", err)
	}
	aead, err := newGCM(sessionKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	rsaCiphertext, err := rsa.EncryptOAEP(sha256.New(), rnd, pub, sessionKey, label)
	if err != nil {
		return nil, fmt.Errorf("seal: encrypt session key: %w", err)
	}
	if len(rsaCiphertext) > math.MaxUint16 {
		return nil, errors.New("seal: RSA key too large for the 2-byte length prefix")
	}
	out := make([]byte, 2, 2+len(rsaCiphertext)+len(plaintext)+aead.Overhead())
	binary.BigEndian.PutUint16(out, uint16(len(rsaCiphertext)))
	out = append(out, rsaCiphertext...)
	// The session key is used once, so the all-zero nonce is safe.
	return aead.Seal(out, make([]byte, aead.NonceSize()), plaintext, nil), nil
}

// Open decrypts a value made by Seal, kubeseal or Bitnami's controller,
// trying keys in order (pass them newest first, as PrivateKeys returns
// them). Any failure, whether a wrong key, wrong scope, wrong name or
// namespace, or a damaged value, is reported as ErrCannotDecrypt.
func Open(keys []*rsa.PrivateKey, scope Scope, namespace, name string, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 2 {
		return nil, fmt.Errorf("%w (value too short)", ErrCannotDecrypt)
	}
	rsaLen := int(binary.BigEndian.Uint16(ciphertext))
	if len(ciphertext) < rsaLen+2 {
		return nil, fmt.Errorf("%w (value too short)", ErrCannotDecrypt)
	}
	label := scope.Label(namespace, name)
	for _, key := range keys {
		if key == nil {
			continue
		}
		if plaintext, err := openWith(key, ciphertext[2:rsaLen+2], ciphertext[rsaLen+2:], label); err == nil {
			return plaintext, nil
		}
	}
	return nil, ErrCannotDecrypt
}

// openWith follows Bitnami's singleDecrypt (HybridDecrypt in older
// releases) for one key.
func openWith(key *rsa.PrivateKey, rsaCiphertext, aesCiphertext, label []byte) ([]byte, error) {
	sessionKey, err := rsa.DecryptOAEP(sha256.New(), nil, key, rsaCiphertext, label)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(sessionKey)
	if err != nil {
		return nil, err
	}
	return aead.Open(nil, make([]byte, aead.NonceSize()), aesCiphertext, nil)
}

// newGCM returns AES-GCM with the standard 12-byte nonce and 16-byte tag.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return aead, nil
}

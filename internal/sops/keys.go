package sops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3/keyservice"
)

// Suffixes of the Secret keys that hold private keys, as Flux names them.
const (
	AgeKeySuffix = ".agekey"
	PGPKeySuffix = ".asc"
)

// cloudKeys are the Secret keys Flux reads for cloud key services, which
// Tether does not support.
var cloudKeys = []string{"sops.aws-kms", "sops.gcp-kms.json", "sops.azure-kv", "sops.vault-token"}

// Keys are the private keys of one decryption Secret.
type Keys struct {
	source string // "namespace/name" of the Secret, for messages
	id     string // digest of the key material
	age    []age.Identity
	pgp    openpgp.EntityList
	cloud  []string // cloud key entries present, unsupported
}

// ParseKeys reads the private keys of the Secret source ("namespace/name")
// from its data. Errors name the Secret and the data key at fault, never
// the key material.
func ParseKeys(source string, data map[string][]byte) (*Keys, error) {
	k := &Keys{source: source}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range data {
			if !yield(name) {
				return
			}
		}
	})
	sum := sha256.New()
	for _, name := range names {
		v := data[name]
		switch {
		case strings.HasSuffix(name, AgeKeySuffix):
			ids, err := age.ParseIdentities(bytes.NewReader(v))
			if err != nil {
				return nil, fmt.Errorf("decryption Secret '%s' key '%s': not age identities (AGE-SECRET-KEY-1... lines)", source, name)
			}
			k.age = append(k.age, ids...)
		case strings.HasSuffix(name, PGPKeySuffix):
			ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(v))
			if err != nil {
				return nil, fmt.Errorf("decryption Secret '%s' key '%s': not an armored OpenPGP key", source, name)
			}
			if !hasPrivateKey(ring) {
				return nil, fmt.Errorf("decryption Secret '%s' key '%s': holds no OpenPGP private key", source, name)
			}
			k.pgp = append(k.pgp, ring...)
		case slices.Contains(cloudKeys, name):
			k.cloud = append(k.cloud, name)
			continue
		default:
			continue
		}
		fmt.Fprintf(sum, "%d:%s%d:", len(name), name, len(v))
		sum.Write(v)
	}
	if len(k.age) == 0 && len(k.pgp) == 0 {
		msg := fmt.Sprintf("decryption Secret '%s' holds no age (*%s) or OpenPGP (*%s) private key", source, AgeKeySuffix, PGPKeySuffix)
		if len(k.cloud) > 0 {
			msg += fmt.Sprintf("; cloud key services (%s) are not supported", strings.Join(k.cloud, ", "))
		}
		return nil, errors.New(msg)
	}
	k.id = source + "@" + hex.EncodeToString(sum.Sum(nil))
	return k, nil
}

func hasPrivateKey(ring openpgp.EntityList) bool {
	for _, e := range ring {
		if e.PrivateKey != nil {
			return true
		}
		for _, s := range e.Subkeys {
			if s.PrivateKey != nil {
				return true
			}
		}
	}
	return false
}

// keyServer is a SOPS key service that opens data keys with Keys, in
// memory, without gpg or key files on disk.
type keyServer struct {
	keys *Keys
}

var _ keyservice.KeyServiceServer = keyServer{}

// Encrypt is not offered: Tether only decrypts.
func (keyServer) Encrypt(context.Context, *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	return nil, errors.New("encryption is not offered")
}

// Decrypt opens one data key with an age or OpenPGP private key.
func (s keyServer) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	switch k := req.GetKey().GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		return s.openAge(k.AgeKey.GetRecipient(), req.GetCiphertext())
	case *keyservice.Key_PgpKey:
		return s.openPGP(k.PgpKey.GetFingerprint(), req.GetCiphertext())
	case nil:
		return nil, errors.New("no key given")
	default:
		return nil, fmt.Errorf("%s: only age and OpenPGP keys are supported", keyKind(req.GetKey()))
	}
}

func (s keyServer) openAge(recipient string, ciphertext []byte) (*keyservice.DecryptResponse, error) {
	if len(s.keys.age) == 0 {
		return nil, fmt.Errorf("age recipient %s: Secret '%s' holds no age key", recipient, s.keys.source)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(ciphertext)), s.keys.age...)
	if err != nil {
		return nil, fmt.Errorf("age recipient %s: no identity in Secret '%s' matches", recipient, s.keys.source)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 1<<10))
	if err != nil {
		return nil, fmt.Errorf("age recipient %s: %w", recipient, err)
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func (s keyServer) openPGP(fingerprint string, ciphertext []byte) (*keyservice.DecryptResponse, error) {
	if len(s.keys.pgp) == 0 {
		return nil, fmt.Errorf("OpenPGP key %s: Secret '%s' holds no OpenPGP key", fingerprint, s.keys.source)
	}
	block, err := pgparmor.Decode(bytes.NewReader(ciphertext))
	if err != nil {
		return nil, fmt.Errorf("OpenPGP key %s: the data key is not an armored message", fingerprint)
	}
	md, err := openpgp.ReadMessage(block.Body, s.keys.pgp, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("OpenPGP key %s: no private key in Secret '%s' opens it", fingerprint, s.keys.source)
	}
	plain, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, 1<<10))
	if err != nil {
		return nil, fmt.Errorf("OpenPGP key %s: %w", fingerprint, err)
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

// keyKind names a key service key type for a message.
func keyKind(k *keyservice.Key) string {
	switch k.GetKeyType().(type) {
	case *keyservice.Key_KmsKey:
		return "AWS KMS"
	case *keyservice.Key_GcpKmsKey:
		return "GCP KMS"
	case *keyservice.Key_AzureKeyvaultKey:
		return "Azure Key Vault"
	case *keyservice.Key_VaultKey:
		return "HashiCorp Vault"
	}
	return "this key type"
}

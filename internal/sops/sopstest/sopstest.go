// Package sopstest encrypts files as the sops command line does, for
// tests of decryption: Tether itself only decrypts.
package sopstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/version"
)

// Options say for whom and how to encrypt.
type Options struct {
	// AgeRecipients are age public keys (age1...).
	AgeRecipients []string
	// PGP are OpenPGP keys to encrypt for (their public part is used).
	PGP openpgp.EntityList
	// EncryptedRegex encrypts only the values whose key matches it, as
	// `sops --encrypted-regex` ("^(data|stringData)$" for Secrets).
	EncryptedRegex string
	// Format is "yaml", "json", "dotenv", "ini" or "binary"; empty takes
	// it from the file name as sops does.
	Format string
}

// Encrypt returns plain, the content of file, encrypted as `sops
// --encrypt` would for o.
func Encrypt(t testing.TB, file string, plain []byte, o Options) []byte {
	t.Helper()
	format := formats.FormatForPath(file)
	if o.Format != "" {
		format = formats.FormatFromString(o.Format)
	}
	store := common.StoreForFormat(format, config.NewStoresConfig())
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		t.Fatalf("sopstest: load %s: %v", file, err)
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		t.Fatal(err)
	}
	var group sops.KeyGroup
	for _, r := range o.AgeRecipients {
		mk, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			t.Fatalf("sopstest: age recipient: %v", err)
		}
		if err := mk.Encrypt(dataKey); err != nil {
			t.Fatalf("sopstest: age encrypt: %v", err)
		}
		group = append(group, mk)
	}
	for _, e := range o.PGP {
		group = append(group, pgpKey(t, e, dataKey))
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			KeyGroups:         []sops.KeyGroup{group},
			UnencryptedSuffix: "_unencrypted",
			EncryptedRegex:    o.EncryptedRegex,
			Version:           version.Version,
		},
		FilePath: file,
	}
	if o.EncryptedRegex != "" {
		tree.Metadata.UnencryptedSuffix = ""
	}
	if err := common.EncryptTree(common.EncryptTreeOpts{Tree: &tree, Cipher: aes.NewCipher(), DataKey: dataKey}); err != nil {
		t.Fatalf("sopstest: encrypt %s: %v", file, err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatalf("sopstest: emit %s: %v", file, err)
	}
	return out
}

// pgpKey encrypts dataKey for e as sops does: an armored OpenPGP message.
func pgpKey(t testing.TB, e *openpgp.Entity, dataKey []byte) keys.MasterKey {
	t.Helper()
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := openpgp.Encrypt(aw, openpgp.EntityList{e}, nil, nil, nil)
	if err != nil {
		t.Fatalf("sopstest: OpenPGP encrypt: %v", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(dataKey)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return &pgp.MasterKey{
		Fingerprint:  strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)),
		EncryptedKey: buf.String(),
		CreationDate: time.Now().UTC(),
	}
}

// AgeKey returns a new age identity (the private key line, as stored in a
// *.agekey Secret entry) and its recipient.
func AgeKey(t testing.TB) (identity, recipient string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.String(), id.Recipient().String()
}

// PGPKey returns a new OpenPGP key and its armored private key, as stored
// in a *.asc Secret entry.
func PGPKey(t testing.TB) (*openpgp.Entity, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("tether-test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return e, buf.Bytes()
}

package sops_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/tether-gitops/tether/internal/sops"
	"github.com/tether-gitops/tether/internal/sops/sopstest"
)

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
    name: db
    namespace: apps
type: Opaque
stringData:
    password: hunter2-very-secret
`

func ageDecryptor(t *testing.T) (*sops.Decryptor, string) {
	t.Helper()
	id, recipient := sopstest.AgeKey(t)
	keys, err := sops.ParseKeys("flux-system/sops-age", map[string][]byte{"identity.agekey": []byte("# created for a test\n" + id + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	return sops.New(keys), recipient
}

func TestOpenDecryptsEveryFormat(t *testing.T) {
	d, recipient := ageDecryptor(t)
	age := sopstest.Options{AgeRecipients: []string{recipient}}
	tests := []struct {
		name  string
		file  string
		plain string
		opts  sopstest.Options
	}{
		{"secret manifest, data encrypted", "apps/db.yaml", secretYAML, sopstest.Options{AgeRecipients: age.AgeRecipients, EncryptedRegex: "^(data|stringData)$"}},
		{"whole yaml", "apps/config.yml", "user: admin\npassword: hunter2-very-secret\n", age},
		{"json", "apps/config.json", "{\n\t\"password\": \"hunter2-very-secret\"\n}", age},
		{"dotenv", "apps/db.env", "PASSWORD=hunter2-very-secret\nUSER=admin\n", age},
		{"dotenv under another name", "apps/db-credentials", "PASSWORD=hunter2-very-secret\n", sopstest.Options{AgeRecipients: age.AgeRecipients, Format: "dotenv"}},
		{"ini", "apps/db.ini", "[db]\npassword = hunter2-very-secret\n", age},
		{"binary", "apps/id_rsa", "-----BEGIN KEY-----\nhunter2-very-secret\n", age},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := sopstest.Encrypt(t, tt.file, []byte(tt.plain), tt.opts)
			if bytes.Contains(enc, []byte("hunter2-very-secret")) {
				t.Fatalf("the encrypted file holds the plaintext:\n%s", enc)
			}
			got, err := d.Open(tt.file, enc)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Contains(got, []byte("hunter2-very-secret")) || bytes.Contains(got, []byte("ENC[")) || bytes.Contains(got, []byte("sops")) {
				t.Fatalf("Open did not give the plain document:\n%s", got)
			}
			if tt.name == "binary" && string(got) != tt.plain {
				t.Fatalf("binary: got %q, want %q", got, tt.plain)
			}
		})
	}
}

func TestOpenWithOpenPGP(t *testing.T) {
	entity, armored := sopstest.PGPKey(t)
	keys, err := sops.ParseKeys("flux-system/sops-gpg", map[string][]byte{"sops.asc": armored})
	if err != nil {
		t.Fatal(err)
	}
	enc := sopstest.Encrypt(t, "db.yaml", []byte(secretYAML), sopstest.Options{PGP: openpgp.EntityList{entity}, EncryptedRegex: "^(data|stringData)$"})
	got, err := sops.New(keys).Open("db.yaml", enc)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !strings.Contains(string(got), "password: hunter2-very-secret") {
		t.Fatalf("got:\n%s", got)
	}
}

func TestOpenLetsPlainFilesThrough(t *testing.T) {
	d, _ := ageDecryptor(t)
	for _, plain := range []string{secretYAML, "A=1\n", `{"mac": "not encrypted"}`, ""} {
		got, err := d.Open("x.yaml", []byte(plain))
		if err != nil || string(got) != plain {
			t.Errorf("Open(%q) = %q, %v; want it unchanged", plain, got, err)
		}
		got, err = sops.Refuse("set spec.decryption").Open("x.yaml", []byte(plain))
		if err != nil || string(got) != plain {
			t.Errorf("Refuse().Open(%q) = %q, %v; want it unchanged", plain, got, err)
		}
	}
}

func TestOpenFailures(t *testing.T) {
	d, recipient := ageDecryptor(t)
	_, stranger := sopstest.AgeKey(t)
	enc := sopstest.Encrypt(t, "apps/db.yaml", []byte(secretYAML), sopstest.Options{AgeRecipients: []string{recipient}, EncryptedRegex: "^(data|stringData)$"})
	forStranger := sopstest.Encrypt(t, "apps/db.yaml", []byte(secretYAML), sopstest.Options{AgeRecipients: []string{stranger}, EncryptedRegex: "^(data|stringData)$"})
	tampered := bytes.Replace(enc, []byte("namespace: apps"), []byte("namespace: other"), 1)
	tests := []struct {
		name string
		d    *sops.Decryptor
		data []byte
		want string
		is   error
	}{
		{"no decryption configured", sops.Refuse("set spec.decryption on the Kustomization"), enc, "apps/db.yaml is SOPS-encrypted and no decryption is configured: set spec.decryption on the Kustomization", sops.ErrNoDecryption},
		{"another recipient", d, forStranger, "apps/db.yaml: cannot decrypt with the keys of Secret 'flux-system/sops-age'", nil},
		{"changed after encryption", d, tampered, "apps/db.yaml: the SOPS message authentication code does not match", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.d.Open("apps/db.yaml", tt.data)
			if err == nil {
				t.Fatalf("Open succeeded:\n%s", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v is not %v", err, tt.is)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Fatalf("the error leaks a secret: %v", err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	id, _ := sopstest.AgeKey(t)
	tests := []struct {
		name string
		data map[string][]byte
		want string
	}{
		{"no keys", map[string][]byte{"README": []byte("x")}, "decryption Secret 'ns/keys' holds no age (*.agekey) or OpenPGP (*.asc) private key"},
		{"cloud keys only", map[string][]byte{"sops.aws-kms": []byte("x")}, "cloud key services (sops.aws-kms) are not supported"},
		{"bad age key", map[string][]byte{"a.agekey": []byte("AGE-SECRET-KEY-1NOTAKEY")}, "key 'a.agekey': not age identities"},
		{"bad pgp key", map[string][]byte{"a.asc": []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\nAGE\n")}, "key 'a.asc': not an armored OpenPGP key"},
		{"good", map[string][]byte{"a.agekey": []byte(id)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sops.ParseKeys("ns/keys", tt.data)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "NOTAKEY") {
				t.Fatalf("the error quotes the key: %v", err)
			}
		})
	}
}

func TestIDFollowsTheKeys(t *testing.T) {
	a, _ := sopstest.AgeKey(t)
	b, _ := sopstest.AgeKey(t)
	ka, _ := sops.ParseKeys("ns/k", map[string][]byte{"k.agekey": []byte(a)})
	ka2, _ := sops.ParseKeys("ns/k", map[string][]byte{"k.agekey": []byte(a), "unrelated": []byte("x")})
	kb, _ := sops.ParseKeys("ns/k", map[string][]byte{"k.agekey": []byte(b)})
	if sops.New(ka).ID() != sops.New(ka2).ID() {
		t.Error("an unrelated entry changed the ID")
	}
	if sops.New(ka).ID() == sops.New(kb).ID() {
		t.Error("other keys, same ID")
	}
	if strings.Contains(sops.New(ka).ID(), a) {
		t.Error("the ID holds the key")
	}
}

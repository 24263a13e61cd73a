package git

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// testKeys are credentials made up for one test.
type testKeys struct {
	identity, encrypted []byte // OpenSSH private keys; encrypted with passphrase
	passphrase          string
	publicKey           ssh.PublicKey
	knownHosts          []byte
	certPEM, keyPEM     []byte // a self-signed certificate and its key
	otherKeyPEM         []byte
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys{passphrase: "correct horse battery staple"}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	k.identity = pem.EncodeToMemory(block)
	block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(k.passphrase))
	if err != nil {
		t.Fatal(err)
	}
	k.encrypted = pem.EncodeToMemory(block)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k.publicKey = signer.PublicKey()
	k.knownHosts = []byte(knownhosts.Line([]string{"[127.0.0.1]:2222"}, k.publicKey) + "\n")
	k.certPEM, k.keyPEM = selfSigned(t)
	_, k.otherKeyPEM = selfSigned(t)
	return k
}

// selfSigned returns a self-signed CA certificate and its key, PEM-encoded.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tether test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses:           nil,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func TestAuthFromSecret(t *testing.T) {
	k := newTestKeys(t)
	const password, token = "s3cr3t-password", "s3cr3t-token"
	tests := []struct {
		name    string
		data    map[string][]byte
		wantErr string // "" for success
		check   func(*testing.T, *Auth)
	}{
		{name: "empty", data: nil, check: func(t *testing.T, a *Auth) {
			if a.Fingerprint() != anonymous {
				t.Errorf("fingerprint %q, want %q", a.Fingerprint(), anonymous)
			}
		}},
		{name: "only unrelated keys", data: map[string][]byte{"githubAppID": []byte("1")}, check: func(t *testing.T, a *Auth) {
			if !a.isAnonymous() {
				t.Error("want anonymous")
			}
		}},
		{name: "basic auth", data: map[string][]byte{"username": []byte("u"), "password": []byte(password)}, check: func(t *testing.T, a *Auth) {
			if a.username != "u" || a.password != password {
				t.Errorf("got %q/%q", a.username, a.password)
			}
		}},
		{name: "username only", data: map[string][]byte{"username": []byte("u")}},
		{name: "password without username", data: map[string][]byte{"password": []byte(password)},
			wantErr: `secret has "password" but no "username"`},
		{name: "bearer token", data: map[string][]byte{"bearerToken": []byte(token)}, check: func(t *testing.T, a *Auth) {
			if a.bearerToken != token {
				t.Error("token not read")
			}
		}},
		{name: "ssh", data: map[string][]byte{"identity": k.identity, "identity.pub": ssh.MarshalAuthorizedKey(k.publicKey), "known_hosts": k.knownHosts},
			check: func(t *testing.T, a *Auth) {
				if a.signer == nil || a.hostKeys == nil {
					t.Error("identity or known_hosts not loaded")
				}
				if algos := a.hostKeys.HostKeyAlgorithms("127.0.0.1:2222"); len(algos) == 0 {
					t.Error("no host key algorithms for the known host")
				}
			}},
		{name: "identity not a key", data: map[string][]byte{"identity": []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n")},
			wantErr: `secret key "identity" is not an SSH private key`},
		{name: "encrypted identity without password", data: map[string][]byte{"identity": k.encrypted},
			wantErr: `"identity" is encrypted and the secret has no "password"`},
		{name: "encrypted identity", data: map[string][]byte{"identity": k.encrypted, "password": []byte(k.passphrase)},
			check: func(t *testing.T, a *Auth) {
				if a.signer == nil {
					t.Error("identity not decrypted")
				}
			}},
		{name: "encrypted identity, wrong password", data: map[string][]byte{"identity": k.encrypted, "password": []byte(password)},
			wantErr: `"identity" cannot be decrypted with "password"`},
		{name: "bad known_hosts", data: map[string][]byte{"known_hosts": append(append([]byte("# comment\n"), k.knownHosts...), "github.com ssh-ed25519 !!!\n"...)},
			wantErr: `secret key "known_hosts", line 3`},
		{name: "ca.crt", data: map[string][]byte{"ca.crt": k.certPEM}, check: func(t *testing.T, a *Auth) {
			if string(a.caBundle) != string(k.certPEM) {
				t.Error("ca.crt not read")
			}
		}},
		{name: "legacy caFile", data: map[string][]byte{"caFile": k.certPEM}, check: func(t *testing.T, a *Auth) {
			if a.caBundle == nil {
				t.Error("caFile not read")
			}
		}},
		{name: "ca.crt wins over caFile", data: map[string][]byte{"ca.crt": k.certPEM, "caFile": []byte("junk")}},
		{name: "bad ca.crt", data: map[string][]byte{"ca.crt": []byte("junk")}, wantErr: `secret key "ca.crt" holds no PEM certificate`},
		{name: "client certificate", data: map[string][]byte{"tls.crt": k.certPEM, "tls.key": k.keyPEM}, check: func(t *testing.T, a *Auth) {
			if a.clientCert == nil || a.clientKey == nil {
				t.Error("client certificate not read")
			}
		}},
		{name: "tls.crt alone", data: map[string][]byte{"tls.crt": k.certPEM}, wantErr: `"tls.crt" and "tls.key" must be set together`},
		{name: "tls.key not PEM", data: map[string][]byte{"tls.crt": k.certPEM, "tls.key": []byte(password)}, wantErr: `"tls.key" is not PEM`},
		{name: "mismatched pair", data: map[string][]byte{"tls.crt": k.certPEM, "tls.key": k.otherKeyPEM}, wantErr: "are not a certificate and its key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := AuthFromSecret(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				assertNoSecret(t, err.Error(), tt.data)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{a.String(), fmt.Sprintf("%v", a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
				assertNoSecret(t, s, tt.data)
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
}

// assertNoSecret fails when text contains a secret value of data.
func assertNoSecret(t *testing.T, text string, data map[string][]byte) {
	t.Helper()
	for _, key := range []string{KeyPassword, KeyBearerToken, KeyIdentity, KeyTLSKey} {
		v := strings.TrimSpace(string(data[key]))
		if len(v) >= 4 && strings.Contains(text, v) {
			t.Errorf("%q reveals the secret's %q", text, key)
		}
	}
	if strings.Contains(text, "PRIVATE KEY") {
		t.Errorf("%q reveals a private key", text)
	}
}

func TestFingerprint(t *testing.T) {
	mk := func(kv ...string) *Auth {
		data := map[string][]byte{}
		for i := 0; i < len(kv); i += 2 {
			data[kv[i]] = []byte(kv[i+1])
		}
		a, err := AuthFromSecret(data)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	base := mk("username", "u", "password", "p4ssword")
	if got := mk("username", "u", "password", "p4ssword", "unrelated", "x").Fingerprint(); got != base.Fingerprint() {
		t.Error("equal credentials give different fingerprints")
	}
	for _, other := range []*Auth{
		mk("username", "u", "password", "p4ssword2"),
		mk("username", "u2", "password", "p4ssword"),
		mk("username", "up", "password", "4ssword"), // shifted boundary
		mk("bearerToken", "p4ssword"),
		nil,
	} {
		if other.Fingerprint() == base.Fingerprint() {
			t.Errorf("%v and %v share a fingerprint", other, base)
		}
	}
	if strings.Contains(base.Fingerprint(), "p4ssword") {
		t.Error("fingerprint reveals the password")
	}
	var nilAuth *Auth
	if nilAuth.Fingerprint() != anonymous || mk().Fingerprint() != anonymous {
		t.Error("nil and empty Auth must both be anonymous")
	}
}

package connsecret

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestTLS(t *testing.T) {
	cert, key := selfSigned(t)
	for _, tc := range []struct {
		name      string
		data      map[string][]byte
		wantNil   bool
		wantCA    bool
		wantCerts int
		err       string
	}{
		{name: "nothing", data: map[string][]byte{"other": []byte("x")}, wantNil: true},
		{name: "ca only", data: map[string][]byte{"ca.crt": cert}, wantCA: true},
		{name: "client pair", data: map[string][]byte{"tls.crt": cert, "tls.key": key}, wantCerts: 1},
		{name: "all", data: map[string][]byte{"ca.crt": cert, "tls.crt": cert, "tls.key": key}, wantCA: true, wantCerts: 1},
		{name: "bad ca", data: map[string][]byte{"ca.crt": []byte("not pem")}, err: "'ca.crt' holds no PEM certificate"},
		{name: "cert without key", data: map[string][]byte{"tls.crt": cert}, err: "must both be set"},
		{name: "mismatched pair", data: map[string][]byte{"tls.crt": cert, "tls.key": []byte("secret-key-bytes")}, err: "invalid key pair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := TLS(tc.data, "ca.crt", "tls.crt", "tls.key")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret-key-bytes") {
					t.Errorf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if cfg != nil {
					t.Fatalf("cfg = %v, want nil", cfg)
				}
				return
			}
			if (cfg.RootCAs != nil) != tc.wantCA || len(cfg.Certificates) != tc.wantCerts {
				t.Errorf("RootCAs set %v, %d certificates", cfg.RootCAs != nil, len(cfg.Certificates))
			}
		})
	}
}

func TestProxy(t *testing.T) {
	for _, tc := range []struct {
		data map[string][]byte
		want string
		err  bool
	}{
		{map[string][]byte{"address": []byte("http://proxy:3128")}, "http://proxy:3128", false},
		{map[string][]byte{"address": []byte(" http://proxy:3128\n"), "username": []byte("u"), "password": []byte("p@ss")}, "http://u:p%40ss@proxy:3128", false},
		{map[string][]byte{}, "", true},
		{map[string][]byte{"address": []byte("not a url")}, "", true},
	} {
		u, err := Proxy(tc.data)
		if (err != nil) != tc.err {
			t.Fatalf("Proxy(%v) error %v", tc.data, err)
		}
		if err == nil && u.String() != tc.want {
			t.Errorf("Proxy(%v) = %q, want %q", tc.data, u, tc.want)
		}
	}
}

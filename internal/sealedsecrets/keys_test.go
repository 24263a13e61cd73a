package sealedsecrets

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGenerateKeySecretShape(t *testing.T) {
	secrets, keys := keyPairs(t)
	s := secrets[0]
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("type = %q, want kubernetes.io/tls", s.Type)
	}
	if s.GenerateName != "sealed-secrets-key" || s.Name != "" || s.Namespace != "kube-system" {
		t.Errorf("generateName/name/namespace = %q/%q/%q", s.GenerateName, s.Name, s.Namespace)
	}
	if s.Labels["sealedsecrets.bitnami.com/sealed-secrets-key"] != "active" || !IsActiveKey(s, "") {
		t.Errorf("labels = %v, want the active key label", s.Labels)
	}
	block, _ := pem.Decode(s.Data["tls.key"])
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("tls.key is not a PKCS#1 PEM block")
	}
	cert, err := parseCertPEM(s.Data["tls.crt"])
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "sealed-secret" || cert.Issuer.CommonName != "sealed-secret" {
		t.Errorf("subject/issuer = %v/%v", cert.Subject, cert.Issuer)
	}
	// Upstream's KeyUsage lacks CertSign, so CheckSignatureFrom refuses;
	// check the signature itself.
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if !cert.IsCA || cert.KeyUsage != x509.KeyUsageEncipherOnly {
		t.Errorf("IsCA=%v KeyUsage=%v, want upstream's CA + EncipherOnly", cert.IsCA, cert.KeyUsage)
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != DefaultKeyValidity {
		t.Errorf("validity = %v, want %v", got, DefaultKeyValidity)
	}
	if !cert.PublicKey.(*rsa.PublicKey).Equal(&keys[0].PublicKey) || keys[0].N.BitLen() != 2048 {
		t.Error("certificate key does not match tls.key, or wrong size")
	}
}

func TestDefaultKeySize(t *testing.T) {
	if got := (KeyOptions{}).withDefaults(); got.Bits != 4096 || got.Prefix != DefaultKeyPrefix || got.CommonName != DefaultCommonName {
		t.Errorf("defaults = %+v", got)
	}
}

func TestIsActiveKey(t *testing.T) {
	tests := []struct {
		name   string
		secret corev1.Secret
		want   bool
	}{
		{"labelled active", corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sealed-secrets-keyabcde", Labels: map[string]string{KeyLabel: "active"}}}, true},
		{"compromised", corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sealed-secrets-keyabcde", Labels: map[string]string{KeyLabel: "compromised"}}}, false},
		{"legacy exact name", corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sealed-secrets-key"}}, true},
		{"unrelated", corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls"}}, false},
	}
	for _, tt := range tests {
		if got := IsActiveKey(&tt.secret, ""); got != tt.want {
			t.Errorf("%s: IsActiveKey = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPrivateKeysOrder: keys come back newest certificate first, and a
// broken Secret is named in the error without stopping the others.
func TestPrivateKeysOrder(t *testing.T) {
	secrets, keys := keyPairs(t)
	broken := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "sealed-secrets-keybroken"},
		Data: map[string][]byte{"tls.key": []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")}}
	in := []corev1.Secret{*secrets[0], broken, *secrets[2], *secrets[1]}
	got, err := PrivateKeys(in)
	if err == nil || !strings.Contains(err.Error(), "sealed-secrets-keybroken") || !strings.Contains(err.Error(), "tls.key") {
		t.Errorf("error = %v, want one naming the broken Secret and field", err)
	}
	if strings.Contains(err.Error(), "AAAA") {
		t.Errorf("error %q quotes key material", err)
	}
	want := []*rsa.PrivateKey{keys[2], keys[1], keys[0]}
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("key %d is not the expected one (newest first)", i)
		}
	}
}

// TestReadKeySecretPKCS8 accepts a tls.key in PKCS#8, as kubectl create
// secret tls with an openssl-made key has.
func TestReadKeySecretPKCS8(t *testing.T) {
	secrets, keys := keyPairs(t)
	der, err := x509.MarshalPKCS8PrivateKey(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	s := secrets[0].DeepCopy()
	s.Data["tls.key"] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	got, _, err := ReadKeySecret(s)
	if err != nil || !got.Equal(keys[0]) {
		t.Fatalf("ReadKeySecret = %v", err)
	}
}

func TestPublicKeyFromCertPEM(t *testing.T) {
	secrets, keys := keyPairs(t)
	certPEM := secrets[0].Data["tls.crt"]
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pem     []byte
		now     time.Time
		wantErr string
	}{
		{"valid", certPEM, cert.NotBefore.Add(time.Hour), ""},
		{"expired", certPEM, cert.NotAfter.Add(time.Hour), "expired"},
		{"not PEM", []byte("hello"), cert.NotBefore, "no CERTIFICATE"},
		{"key not cert", secrets[0].Data["tls.key"], cert.NotBefore, "no CERTIFICATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := PublicKeyFromCertPEM(tt.pem, tt.now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !pub.Equal(&keys[0].PublicKey) {
				t.Fatalf("PublicKeyFromCertPEM = %v", err)
			}
		})
	}
}

// TestCertSealsForKey: a value sealed with the certificate's key opens with
// the Secret's private key, as kubeseal --cert then the controller do.
func TestCertSealsForKey(t *testing.T) {
	secrets, _ := keyPairs(t)
	pub, err := PublicKeyFromCertPEM(secrets[1].Data["tls.crt"], time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := Seal(pub, StrictScope, "prod", "db", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := PrivateKeys([]corev1.Secret{*secrets[1]})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(keys, StrictScope, "prod", "db", sealed); err != nil || string(got) != "v" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

package sealedsecrets

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Key pair conventions of Bitnami's controller (pkg/controller/keys.go,
// cmd/controller/main.go).
const (
	// KeyLabel marks a Secret that holds a sealing key pair.
	KeyLabel = "sealedsecrets.bitnami.com/sealed-secrets-key"
	// KeyLabelActive is KeyLabel's value on key pairs the controller
	// loads; upstream documents "compromised" for retired ones, which it
	// does not load.
	KeyLabelActive = "active"
	// DefaultKeyPrefix is the GenerateName of key Secrets, and the exact
	// name of the single key Secret of old releases.
	DefaultKeyPrefix = "sealed-secrets-key"
	// DefaultKeyBits is the RSA key size upstream generates.
	DefaultKeyBits = 4096
	// DefaultKeyValidity is how long upstream's certificates are valid.
	DefaultKeyValidity = 10 * 365 * 24 * time.Hour
	// DefaultCommonName is the certificate CN. Upstream's --my-cn flag
	// defaults to empty; "sealed-secret" is what its bring-your-own-key
	// guide uses, and the CN plays no part in sealing.
	DefaultCommonName = "sealed-secret"
)

// KeyOptions shape a generated key pair. Zero fields take the defaults.
type KeyOptions struct {
	// Namespace is the namespace of the key Secret (the controller's).
	Namespace string
	// Prefix is the key Secret's GenerateName; DefaultKeyPrefix if empty.
	Prefix string
	// Bits is the RSA key size; DefaultKeyBits if zero. Tests use 2048.
	Bits int
	// ValidFor is the certificate's lifetime; DefaultKeyValidity if zero.
	ValidFor time.Duration
	// CommonName is the certificate subject and issuer CN;
	// DefaultCommonName if empty.
	CommonName string
	// Now is the certificate's NotBefore; time.Now() if zero.
	Now time.Time
}

// GenerateKeySecret makes a new RSA key pair and self-signed certificate
// and returns them as a kubernetes.io/tls Secret shaped as Bitnami's
// writeKey shapes it: GenerateName prefix, KeyLabel=active, tls.key as a
// PKCS#1 "RSA PRIVATE KEY" PEM block and tls.crt as a "CERTIFICATE" block.
// It makes no API call; the caller creates the Secret.
func GenerateKeySecret(opts KeyOptions) (*corev1.Secret, error) {
	opts = opts.withDefaults()
	key, err := rsa.GenerateKey(rand.Reader, opts.Bits)
	if err != nil {
		return nil, fmt.Errorf("generate %d-bit sealing key: %w", opts.Bits, err)
	}
	certDER, err := selfSign(key, opts)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:    opts.Namespace,
			GenerateName: opts.Prefix,
			Labels:       map[string]string{KeyLabel: KeyLabelActive},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		},
	}, nil
}

func (o KeyOptions) withDefaults() KeyOptions {
	if o.Prefix == "" {
		o.Prefix = DefaultKeyPrefix
	}
	if o.Bits == 0 {
		o.Bits = DefaultKeyBits
	}
	if o.ValidFor == 0 {
		o.ValidFor = DefaultKeyValidity
	}
	if o.CommonName == "" {
		o.CommonName = DefaultCommonName
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// selfSign follows Bitnami's pkg/crypto/keys.go SignKey: a random 128-bit
// serial, KeyUsage EncipherOnly, a CA basic constraint, subject = issuer.
func selfSign(key *rsa.PrivateKey, opts KeyOptions) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	tmpl := x509.Certificate{
		SerialNumber:          serial,
		KeyUsage:              x509.KeyUsageEncipherOnly,
		NotBefore:             opts.Now.UTC(),
		NotAfter:              opts.Now.Add(opts.ValidFor).UTC(),
		Subject:               pkix.Name{CommonName: opts.CommonName},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-sign sealing certificate: %w", err)
	}
	return der, nil
}

// IsActiveKey reports whether the controller loads secret as a sealing key:
// it carries KeyLabel=active, or it is the unlabelled single key of old
// releases, named exactly prefix (DefaultKeyPrefix if empty).
func IsActiveKey(secret *corev1.Secret, prefix string) bool {
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return secret.Labels[KeyLabel] == KeyLabelActive || secret.Name == prefix
}

// KeyPair is one sealing key read from its Secret.
type KeyPair struct {
	// Key is the private key.
	Key *rsa.PrivateKey
	// Certificate is the key's certificate; CertificatePEM is tls.crt as
	// stored, which is what Bitnami's /v1/cert.pem serves.
	Certificate    *x509.Certificate
	CertificatePEM []byte
}

// KeyPairs reads the key pairs in secrets and returns them newest first,
// which is the order Open should try them in and the first of which
// seals. Newest means the latest certificate NotBefore (upstream's default
// --key-order-priority CertNotBefore), then the latest creation timestamp.
// A Secret that cannot be read is left out and named in the returned
// error, which joins all such failures; the pairs that were read are
// returned with it.
func KeyPairs(secrets []corev1.Secret) ([]KeyPair, error) {
	type entry struct {
		pair    KeyPair
		created time.Time
	}
	var entries []entry
	var errs []error
	for i := range secrets {
		s := &secrets[i]
		key, cert, err := ReadKeySecret(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, entry{KeyPair{key, cert, s.Data[corev1.TLSCertKey]}, s.CreationTimestamp.Time})
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i].pair.Certificate.NotBefore, entries[j].pair.Certificate.NotBefore
		if !a.Equal(b) {
			return a.After(b)
		}
		return entries[i].created.After(entries[j].created)
	})
	pairs := make([]KeyPair, len(entries))
	for i, e := range entries {
		pairs[i] = e.pair
	}
	return pairs, errors.Join(errs...)
}

// PrivateKeys is KeyPairs reduced to the private keys, newest first.
func PrivateKeys(secrets []corev1.Secret) ([]*rsa.PrivateKey, error) {
	pairs, err := KeyPairs(secrets)
	return PrivateKeysOf(pairs), err
}

// PrivateKeysOf returns the private keys of pairs, in their order.
func PrivateKeysOf(pairs []KeyPair) []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, len(pairs))
	for i, p := range pairs {
		keys[i] = p.Key
	}
	return keys
}

// ReadKeySecret reads the RSA private key from tls.key (PKCS#1 or PKCS#8
// PEM) and the first certificate from tls.crt of a key Secret. Errors name
// the Secret and field but never include key material.
func ReadKeySecret(secret *corev1.Secret) (*rsa.PrivateKey, *x509.Certificate, error) {
	ref := secret.Namespace + "/" + secret.Name
	key, err := parsePrivateKeyPEM(secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, nil, fmt.Errorf("sealing key Secret %s: %s: %w", ref, corev1.TLSPrivateKeyKey, err)
	}
	cert, err := parseCertPEM(secret.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, nil, fmt.Errorf("sealing key Secret %s: %s: %w", ref, corev1.TLSCertKey, err)
	}
	return key, cert, nil
}

// parsePrivateKeyPEM returns the first RSA private key in data.
func parsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no RSA private key PEM block")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("malformed PKCS#1 RSA private key")
			}
			return key, nil
		case "PRIVATE KEY":
			parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("malformed PKCS#8 private key")
			}
			key, ok := parsed.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("private key is %T, not RSA", parsed)
			}
			return key, nil
		}
	}
}

// parseCertPEM returns the first certificate in data, as client-go's
// ParseCertsPEM followed by certs[0] does upstream.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no CERTIFICATE PEM block")
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert, nil
	}
}

// PublicKeyFromCertPEM returns the RSA public key of the first certificate
// in certPEM, as kubeseal --cert reads it, and refuses a certificate that
// has expired at now, as current kubeseal does.
func PublicKeyFromCertPEM(certPEM []byte, now time.Time) (*rsa.PublicKey, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("sealing certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("sealing certificate: expected an RSA public key, found %T", cert.PublicKey)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("sealing certificate expired on %s: fetch the controller's current certificate", cert.NotAfter.Format("January 2, 2006"))
	}
	return pub, nil
}

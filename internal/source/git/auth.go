package git

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// The keys of a Secret that AuthFromSecret reads; they are Flux's.
const (
	KeyUsername    = "username"    // HTTPS basic auth, or the SSH user
	KeyPassword    = "password"    // HTTPS basic auth, or the passphrase of KeyIdentity
	KeyBearerToken = "bearerToken" // HTTPS "Authorization: Bearer"
	KeyIdentity    = "identity"    // SSH private key, PEM or OpenSSH format
	KeyIdentityPub = "identity.pub"
	KeyKnownHosts  = "known_hosts" // SSH host keys to trust
	KeyCACert      = "ca.crt"      // extra CA certificates for HTTPS
	KeyCAFile      = "caFile"      // the older name of KeyCACert
	KeyTLSCert     = "tls.crt"     // HTTPS client certificate
	KeyTLSKey      = "tls.key"     // HTTPS client key
)

// Auth holds the credentials for one repository, read from a Secret by
// AuthFromSecret. A nil *Auth means anonymous access. Its fields are
// private and it prints as its fingerprint, so that logging it reveals
// nothing.
type Auth struct {
	username, password, bearerToken string

	signer     ssh.Signer            // parsed identity, nil without one
	hostKeys   *knownhosts.HostKeyDB // parsed known_hosts, nil without one
	caBundle   []byte
	clientCert []byte
	clientKey  []byte

	fingerprint string
}

// AuthFromSecret reads credentials from a Secret's data, with Flux's keys
// (the Key* constants; other keys are ignored). It checks that the keys
// make sense together and parse: a private key, known_hosts, certificates.
// Errors name the offending key but never quote its value. Empty data gives
// an Auth for anonymous access.
//
// As in Flux, a bearer token is preferred over basic auth, and "password" is
// also the passphrase of an encrypted identity.
func AuthFromSecret(data map[string][]byte) (*Auth, error) {
	a := &Auth{
		username:    string(data[KeyUsername]),
		password:    string(data[KeyPassword]),
		bearerToken: string(data[KeyBearerToken]),
	}
	identity := data[KeyIdentity]
	if a.password != "" && a.username == "" && len(identity) == 0 {
		return nil, fmt.Errorf("secret has %q but no %q (or %q for SSH)", KeyPassword, KeyUsername, KeyIdentity)
	}
	if len(identity) > 0 {
		signer, err := parseIdentity(identity, a.password)
		if err != nil {
			return nil, err
		}
		a.signer = signer
	}
	if kh := data[KeyKnownHosts]; len(bytes.TrimSpace(kh)) > 0 {
		db, err := parseKnownHosts(kh)
		if err != nil {
			return nil, err
		}
		a.hostKeys = db
	}
	if err := a.readTLS(data); err != nil {
		return nil, err
	}
	a.fingerprint = fingerprint(data)
	return a, nil
}

// parseIdentity parses an SSH private key, decrypting it with passphrase
// when it is encrypted.
func parseIdentity(identity []byte, passphrase string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(identity)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, nil
	case errors.As(err, &missing) && passphrase == "":
		return nil, fmt.Errorf("secret key %q is encrypted and the secret has no %q to decrypt it", KeyIdentity, KeyPassword)
	case errors.As(err, &missing):
		signer, err = ssh.ParsePrivateKeyWithPassphrase(identity, []byte(passphrase))
		if err != nil {
			return nil, fmt.Errorf("secret key %q cannot be decrypted with %q", KeyIdentity, KeyPassword)
		}
		return signer, nil
	default:
		// The parser's messages describe the format, never the key bytes.
		return nil, fmt.Errorf("secret key %q is not an SSH private key: %w", KeyIdentity, err)
	}
}

// parseKnownHosts checks every line of a known_hosts file and loads it.
// The knownhosts package reads only files, so the content goes through a
// temporary file that is removed at once.
func parseKnownHosts(kh []byte) (*knownhosts.HostKeyDB, error) {
	for i, line := range strings.Split(string(kh), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(line)); err != nil {
			return nil, fmt.Errorf("secret key %q, line %d: %w", KeyKnownHosts, i+1, err)
		}
	}
	f, err := os.CreateTemp("", "tether-known-hosts-*")
	if err != nil {
		return nil, fmt.Errorf("load %q: %w", KeyKnownHosts, err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(kh)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("load %q: %w", KeyKnownHosts, werr)
	}
	db, err := knownhosts.NewDB(f.Name())
	if err != nil {
		return nil, fmt.Errorf("secret key %q: %s", KeyKnownHosts, strings.ReplaceAll(err.Error(), f.Name(), KeyKnownHosts))
	}
	return db, nil
}

// readTLS reads the CA bundle and the client certificate.
func (a *Auth) readTLS(data map[string][]byte) error {
	ca, caKey := data[KeyCACert], KeyCACert
	if len(ca) == 0 {
		ca, caKey = data[KeyCAFile], KeyCAFile
	}
	if len(ca) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return fmt.Errorf("secret key %q holds no PEM certificate", caKey)
		}
		a.caBundle = ca
	}
	cert, key := data[KeyTLSCert], data[KeyTLSKey]
	switch {
	case len(cert) == 0 && len(key) == 0:
		return nil
	case len(cert) == 0 || len(key) == 0:
		return fmt.Errorf("secret keys %q and %q must be set together", KeyTLSCert, KeyTLSKey)
	}
	if block, _ := pem.Decode(key); block == nil {
		return fmt.Errorf("secret key %q is not PEM", KeyTLSKey)
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		// crypto/tls describes the mismatch, never the key bytes.
		return fmt.Errorf("secret keys %q and %q are not a certificate and its key: %w", KeyTLSCert, KeyTLSKey, err)
	}
	a.clientCert, a.clientKey = cert, key
	return nil
}

// fingerprintKey keys the fingerprints' HMAC. It is drawn once per process,
// so that a fingerprint cannot be used to test guesses of a password.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails on Linux; see crypto/rand
	return k
}()

// fingerprint hashes the credential keys of data.
func fingerprint(data map[string][]byte) string {
	mac := hmac.New(sha256.New, fingerprintKey)
	for _, k := range []string{KeyUsername, KeyPassword, KeyBearerToken, KeyIdentity,
		KeyKnownHosts, KeyCACert, KeyCAFile, KeyTLSCert, KeyTLSKey} {
		v := data[k]
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		mac.Write([]byte(k))
		mac.Write(n[:])
		mac.Write(v)
	}
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// anonymous is the fingerprint of no credentials.
const anonymous = "anonymous"

// Fingerprint returns a hash of the credentials, equal for equal
// credentials within one process, for cache keys. It reveals nothing about
// them. A nil or empty Auth gives "anonymous".
func (a *Auth) Fingerprint() string {
	if a.isAnonymous() {
		return anonymous
	}
	return a.fingerprint
}

// String prints the fingerprint only.
func (a *Auth) String() string { return "git.Auth(" + a.Fingerprint() + ")" }

// GoString prints the fingerprint only, also for %#v.
func (a *Auth) GoString() string { return a.String() }

// isAnonymous reports whether a carries no credential at all.
func (a *Auth) isAnonymous() bool {
	return a == nil || (a.username == "" && a.password == "" && a.bearerToken == "" &&
		a.signer == nil && a.hostKeys == nil && a.caBundle == nil && a.clientCert == nil)
}

// secrets lists the strings that must never appear in messages.
func (a *Auth) secrets() []string {
	if a == nil {
		return nil
	}
	return []string{a.password, a.bearerToken}
}

// Package connsecret reads connection settings from the keys of a Secret
// as Flux lays them out: client TLS for a certSecretRef ("ca.crt",
// "tls.crt", "tls.key", or older key names) and a proxy for a
// proxySecretRef ("address", "username", "password"). Errors name keys,
// never values.
//
//	cfg, err := connsecret.TLS(secret.Data, "ca.crt", "tls.crt", "tls.key")
//	proxy, err := connsecret.Proxy(secret.Data)
package connsecret

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// TLS builds a client TLS configuration from PEM data under the given
// keys; nil when none of them is present. The CA, when given, replaces
// the system roots; the client certificate needs both of its keys.
func TLS(data map[string][]byte, caKey, certKey, keyKey string) (*tls.Config, error) {
	ca, cert, key := data[caKey], data[certKey], data[keyKey]
	if len(ca) == 0 && len(cert) == 0 && len(key) == 0 {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("'%s' holds no PEM certificate", caKey)
		}
		cfg.RootCAs = pool
	}
	if (len(cert) == 0) != (len(key) == 0) {
		return nil, fmt.Errorf("'%s' and '%s' must both be set", certKey, keyKey)
	}
	if len(cert) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client certificate '%s'/'%s': invalid key pair", certKey, keyKey)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Proxy reads a proxy URL from "address", with the optional "username"
// and "password" as its user information.
func Proxy(data map[string][]byte) (*url.URL, error) {
	addr := strings.TrimSpace(string(data["address"]))
	if addr == "" {
		return nil, errors.New("no address key")
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return nil, errors.New("the address key is not a URL")
	}
	if user := string(data["username"]); user != "" {
		u.User = url.UserPassword(user, string(data["password"]))
	}
	return u, nil
}

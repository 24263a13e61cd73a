package helmsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/helm"
)

// repositoryAuth reads a HelmRepository's credentials: username/password
// from spec.secretRef, TLS from spec.certSecretRef (ca.crt, tls.crt,
// tls.key) or, as older Flux versions allowed, from spec.secretRef
// (caFile, certFile, keyFile). insecure allows plain HTTP to an OCI
// registry.
func repositoryAuth(ctx context.Context, reader client.Reader, repo *sourcev1.HelmRepository) (*helm.Auth, error) {
	auth := &helm.Auth{PassCredentials: repo.Spec.PassCredentials, PlainHTTP: repo.Spec.Insecure}
	if ref := repo.Spec.SecretRef; ref != nil {
		data, err := secretData(ctx, reader, repo.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		auth.Username, auth.Password = string(data["username"]), string(data["password"])
		if (auth.Username == "") != (auth.Password == "") {
			return nil, fmt.Errorf("secret '%s/%s': 'username' and 'password' must both be set", repo.Namespace, ref.Name)
		}
		if cfg, err := tlsConfig(data, "caFile", "certFile", "keyFile"); err != nil {
			return nil, fmt.Errorf("secret '%s/%s': %w", repo.Namespace, ref.Name, err)
		} else if cfg != nil {
			auth.TLS = cfg
		}
	}
	if ref := repo.Spec.CertSecretRef; ref != nil {
		data, err := secretData(ctx, reader, repo.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		cfg, err := tlsConfig(data, "ca.crt", "tls.crt", "tls.key")
		if err != nil {
			return nil, fmt.Errorf("secret '%s/%s': %w", repo.Namespace, ref.Name, err)
		}
		auth.TLS = cfg
	}
	return auth, nil
}

func secretData(ctx context.Context, reader client.Reader, namespace, name string) (map[string][]byte, error) {
	var secret corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &secret); err != nil {
		return nil, fmt.Errorf("failed to get secret '%s/%s': %w", namespace, name, err)
	}
	return secret.Data, nil
}

// tlsConfig builds a client TLS configuration from PEM data under the
// given keys; nil when none is present.
func tlsConfig(data map[string][]byte, caKey, certKey, keyKey string) (*tls.Config, error) {
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

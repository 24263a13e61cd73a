package helmsource

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/connsecret"
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
		if cfg, err := connsecret.TLS(data, "caFile", "certFile", "keyFile"); err != nil {
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
		cfg, err := connsecret.TLS(data, "ca.crt", "tls.crt", "tls.key")
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

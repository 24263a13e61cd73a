package application

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/source/git"
)

// Argo CD's ConfigMaps of SSH known hosts and TLS certificates, in the
// control-plane namespace.
const (
	knownHostsConfigMap = "argocd-ssh-known-hosts-cm"
	knownHostsKey       = "ssh_known_hosts"
	tlsCertsConfigMap   = "argocd-tls-certs-cm"
)

// repoAuth finds the credentials for repoURL as Argo CD does: a Secret
// labelled argocd.argoproj.io/secret-type=repository whose url is the
// repository's, else the repo-creds template with the longest url prefix.
// A Secret scoped to another project (key project) is not used. Nil means
// anonymous access.
// RepoAuth returns the Git credentials Argo CD's repository and
// repo-creds Secrets give app for repoURL (nil for anonymous access): the
// same the app's own fetches use, for Argo CD Image Updater's Git
// write-back.
func (r *Reconciler) RepoAuth(ctx context.Context, app *argov1.Application, repoURL string) (*git.Auth, error) {
	return r.repoAuth(ctx, app, repoURL)
}

func (r *Reconciler) repoAuth(ctx context.Context, app *argov1.Application, repoURL string) (*git.Auth, error) {
	secret, err := r.repoSecret(ctx, app.Spec.Project, repoURL)
	if err != nil || secret == nil {
		return nil, err
	}
	d := secret.Data
	data := map[string][]byte{git.KeyUsername: d["username"], git.KeyPassword: d["password"], git.KeyBearerToken: d["bearerToken"],
		git.KeyIdentity: d["sshPrivateKey"], git.KeyTLSCert: d["tlsClientCertData"], git.KeyTLSKey: d["tlsClientCertKey"]}
	if err := r.trustFor(ctx, repoURL, data); err != nil {
		return nil, err
	}
	for k, v := range data {
		if len(v) == 0 {
			delete(data, k)
		}
	}
	auth, err := git.AuthFromSecret(data)
	if err != nil {
		return nil, fmt.Errorf("repository secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return auth, nil
}

func (r *Reconciler) repoSecret(ctx context.Context, projectName, repoURL string) (*corev1.Secret, error) {
	want := normalizeRepoURL(repoURL)
	var best *corev1.Secret
	for _, typ := range []string{argov1.SecretTypeRepository, argov1.SecretTypeRepoCreds} {
		items, err := r.secretsOfType(ctx, typ)
		if err != nil {
			return nil, err
		}
		for i := range items {
			s := &items[i]
			if p := string(s.Data["project"]); p != "" && p != projectName {
				continue
			}
			u := normalizeRepoURL(string(s.Data["url"]))
			switch {
			case typ == argov1.SecretTypeRepository && u == want:
				return s, nil
			case typ == argov1.SecretTypeRepoCreds && u != "" && strings.HasPrefix(want, u) &&
				(best == nil || len(u) > len(normalizeRepoURL(string(best.Data["url"])))):
				best = s
			}
		}
	}
	return best, nil
}

// secretsOfType lists the control-plane namespace's Secrets of an Argo CD
// secret type (repository or repo-creds), by name, from the watched sets.
// The result is shared: callers must not modify it.
func (r *Reconciler) secretsOfType(ctx context.Context, typ string) ([]corev1.Secret, error) {
	if typ == argov1.SecretTypeRepoCreds {
		return r.repoCreds.List(ctx)
	}
	return r.repoSecrets.List(ctx)
}

// trustFor adds Argo CD's known hosts (SSH) or the host's CA certificates
// (HTTPS) from their ConfigMaps.
func (r *Reconciler) trustFor(ctx context.Context, repoURL string, data map[string][]byte) error {
	name, key := tlsCertsConfigMap, ""
	if u, err := url.Parse(repoURL); err == nil && u.Scheme == "https" {
		key = u.Hostname()
	} else {
		name, key = knownHostsConfigMap, knownHostsKey
	}
	var cm corev1.ConfigMap
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: r.ControlPlaneNamespace, Name: name}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", name, err)
	}
	if v := cm.Data[key]; v != "" {
		if name == knownHostsConfigMap {
			data[git.KeyKnownHosts] = []byte(v)
		} else {
			data[git.KeyCACert] = []byte(v)
		}
	}
	return nil
}

// normalizeRepoURL is Argo CD's comparison form of a repository URL:
// lower case, without a trailing slash or ".git".
func normalizeRepoURL(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	u = strings.TrimSuffix(u, "/")
	return strings.TrimSuffix(u, ".git")
}

package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FromKubeconfig reads a kubeconfig, such as the value of a Flux
// kubeConfig Secret. Credential plugins are refused unless allowed, and so
// are paths to files on Tether's own disk (a token file would hand
// Tether's own credentials to any server).
func FromKubeconfig(data []byte, opts Options) (*rest.Config, error) {
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, errors.New("invalid kubeconfig")
	}
	if err := checkKubeconfig(raw, opts); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	opts.limit(cfg)
	return cfg, nil
}

func checkKubeconfig(kc *clientcmdapi.Config, opts Options) error {
	for name, auth := range kc.AuthInfos {
		if (auth.Exec != nil || auth.AuthProvider != nil) && !opts.AllowPlugins {
			return fmt.Errorf("user '%s' runs a credential plugin, which Tether refuses unless started with --allow-kubeconfig-plugins", name)
		}
		for field, path := range map[string]string{"tokenFile": auth.TokenFile, "client-certificate": auth.ClientCertificate, "client-key": auth.ClientKey} {
			if path != "" {
				return fmt.Errorf("user '%s' reads %s from a file on Tether's disk; put the content in the kubeconfig (token, client-certificate-data, client-key-data)", name, field)
			}
		}
	}
	for name, cluster := range kc.Clusters {
		if cluster.CertificateAuthority != "" {
			return fmt.Errorf("cluster '%s' reads certificate-authority from a file on Tether's disk; use certificate-authority-data", name)
		}
	}
	return nil
}

// KubeconfigFromSecret reads a Flux kubeconfig reference: the Secret
// namespace/ref.Name, key ref.Key, else "value", else "value.yaml". It
// returns the configuration and an identity for caches (the Secret and a
// digest of the kubeconfig). Plugins are refused unless opts allow them
// (CVE-2022-24817).
func KubeconfigFromSecret(ctx context.Context, reader client.Reader, namespace, name, key string, opts Options) (*rest.Config, string, error) {
	var secret corev1.Secret
	nn := types.NamespacedName{Namespace: namespace, Name: name}
	if err := reader.Get(ctx, nn, &secret); err != nil {
		return nil, "", fmt.Errorf("kubeconfig secret '%s': %w", nn, err)
	}
	var data []byte
	for _, k := range []string{key, "value", "value.yaml"} {
		if d, ok := secret.Data[k]; k != "" && ok {
			data = d
			break
		}
	}
	if data == nil {
		return nil, "", fmt.Errorf("kubeconfig secret '%s' has no key 'value' or 'value.yaml'", nn)
	}
	cfg, err := FromKubeconfig(data, opts)
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig secret '%s': %w", nn, err)
	}
	sum := sha256.Sum256(data)
	return cfg, nn.String() + "@" + hex.EncodeToString(sum[:8]), nil
}

// FluxTarget is where a Flux object (a Kustomization, a HelmRelease)
// applies: the cluster of its spec.kubeConfig, else the local one, as its
// spec.serviceAccountName, else Tether itself.
type FluxTarget struct {
	// Config connects to the cluster as the object's identity.
	Config *rest.Config
	// ClusterConfig connects to a remote cluster with the kubeconfig's own
	// identity (for watches every identity shares); nil for the local one.
	ClusterConfig *rest.Config
	// Cluster names the cluster: "local", or "remote:<namespace>/<secret>"
	// (see WithoutSecret). Identity adds the service account:
	// "<cluster>|sa:<namespace>/<name>".
	Cluster, Identity string
	// Version is the kubeconfig's digest; "" for the local cluster.
	Version string
}

// ResolveFluxTarget reads the kubeconfig Secret namespace/secret (key;
// none when secret is "") as KubeconfigFromSecret does, and impersonates
// serviceAccount of namespace when it is set. local is the configuration
// of the cluster Tether runs in. A missing Secret is an error for which
// apierrors.IsNotFound holds: the caller then drops what it made from it.
func ResolveFluxTarget(ctx context.Context, reader client.Reader, local *rest.Config, namespace, secret, key, serviceAccount string, opts Options) (FluxTarget, error) {
	t := FluxTarget{Config: rest.CopyConfig(local), Cluster: "local"}
	if secret != "" {
		cfg, id, err := KubeconfigFromSecret(ctx, reader, namespace, secret, key, opts)
		if err != nil {
			return FluxTarget{}, err
		}
		name, version := SplitID(id)
		t = FluxTarget{Config: cfg, ClusterConfig: rest.CopyConfig(cfg), Cluster: "remote:" + name, Version: version}
	}
	t.Identity = t.Cluster
	if serviceAccount != "" {
		t.Config.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + serviceAccount}
		t.Identity += "|sa:" + namespace + "/" + serviceAccount
	}
	return t, nil
}

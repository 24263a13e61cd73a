package kustomization

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
)

// target is the cluster and identity a Kustomization applies with.
type target struct {
	client client.Client
	// key identifies the identity and cluster, for caches and for the
	// steady-state check.
	key string
}

// targets caches one client per identity and cluster.
type targets struct {
	mu      sync.Mutex
	clients map[string]client.Client
}

// target returns the client for obj: the controller's own, impersonating
// spec.serviceAccountName when set, on the cluster of spec.kubeConfig when
// set.
func (r *Reconciler) target(ctx context.Context, obj *kustomizev1.Kustomization) (*target, error) {
	cfg := rest.CopyConfig(r.Config)
	key := "local"
	remote := false
	if kc := obj.Spec.KubeConfig; kc != nil && kc.SecretRef != nil {
		remoteCfg, id, err := r.remoteConfig(ctx, obj.Namespace, kc.SecretRef)
		if err != nil {
			return nil, err
		}
		cfg, key, remote = remoteCfg, "remote:"+id, true
	}
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + obj.Namespace + ":" + sa}
		key += "|sa:" + obj.Namespace + "/" + sa
	}
	r.clients.mu.Lock()
	defer r.clients.mu.Unlock()
	if c, ok := r.clients.clients[key]; ok {
		return &target{client: c, key: key}, nil
	}
	opts := client.Options{Scheme: r.Client.Scheme(), Mapper: r.Client.RESTMapper()}
	if remote {
		httpClient, err := rest.HTTPClientFor(cfg)
		if err != nil {
			return nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("remote cluster client: %w", err))
		}
		if opts.Mapper, err = apiutil.NewDynamicRESTMapper(cfg, httpClient); err != nil {
			return nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("remote cluster discovery: %w", err))
		}
	}
	c, err := client.New(cfg, opts)
	if err != nil {
		return nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("client for %s: %w", key, err))
	}
	if r.clients.clients == nil {
		r.clients.clients = map[string]client.Client{}
	}
	r.clients.clients[key] = c
	return &target{client: c, key: key}, nil
}

// remoteConfig reads a kubeconfig from a Secret (key "value", then
// "value.yaml", or the key given). Exec and auth-provider plugins would run
// code inside Tether (CVE-2022-24817), so they are refused unless
// AllowKubeconfigPlugins is set.
func (r *Reconciler) remoteConfig(ctx context.Context, namespace string, ref *meta.SecretKeyReference) (*rest.Config, string, error) {
	var secret corev1.Secret
	key := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	if err := r.APIReader.Get(ctx, key, &secret); err != nil {
		return nil, "", fail(meta.ReconciliationFailedReason, fmt.Errorf("kubeconfig secret '%s': %w", key, err))
	}
	var data []byte
	for _, k := range []string{ref.Key, "value", "value.yaml"} {
		if d, ok := secret.Data[k]; k != "" && ok {
			data = d
			break
		}
	}
	if data == nil {
		return nil, "", fail(meta.ReconciliationFailedReason, fmt.Errorf("kubeconfig secret '%s' has no key 'value' or 'value.yaml'", key))
	}
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, "", fail(meta.ReconciliationFailedReason, fmt.Errorf("kubeconfig secret '%s': invalid kubeconfig", key))
	}
	if err := r.checkKubeconfig(raw); err != nil {
		return nil, "", fail(meta.ReconciliationFailedReason, fmt.Errorf("kubeconfig secret '%s': %w", key, err))
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, "", fail(meta.ReconciliationFailedReason, errors.New("kubeconfig secret '"+key.String()+"': "+err.Error()))
	}
	sum := sha256.Sum256(data)
	return cfg, key.String() + "@" + hex.EncodeToString(sum[:8]), nil
}

// checkKubeconfig refuses what would make Tether act with its own
// credentials or run code: credential plugins (CVE-2022-24817; allowed
// only with AllowKubeconfigPlugins) and file paths, which client-go reads
// from Tether's own disk (a tokenFile naming Tether's service account token
// would send it to the kubeconfig's server). Only inline *Data fields are
// accepted.
func (r *Reconciler) checkKubeconfig(kc *clientcmdapi.Config) error {
	for name, auth := range kc.AuthInfos {
		if (auth.Exec != nil || auth.AuthProvider != nil) && !r.AllowKubeconfigPlugins {
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

package kustomization

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/cluster"
)

// target is the cluster and identity a Kustomization applies with.
type target struct {
	client client.Client
	// cfg connects to a remote cluster; nil for the local one.
	cfg *rest.Config
	// key identifies the identity and cluster, for caches and for the
	// steady-state check.
	key string
}

// targets caches one client per identity and cluster.
type targets struct {
	mu      sync.Mutex
	clients map[string]client.Client
	remote  cluster.Clients
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
	if remote {
		c, err := r.clients.remote.For(key, cfg, r.Client.Scheme())
		if err != nil {
			return nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("remote cluster: %w", err))
		}
		return &target{client: c, key: key, cfg: cfg}, nil
	}
	c, err := client.New(cfg, client.Options{Scheme: r.Client.Scheme(), Mapper: r.Client.RESTMapper()})
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
	cfg, err := cluster.FromKubeconfig(data, cluster.Options{AllowPlugins: r.AllowKubeconfigPlugins})
	if err != nil {
		return nil, "", fail(meta.ReconciliationFailedReason, fmt.Errorf("kubeconfig secret '%s': %w", key, err))
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

package kustomization

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	// For a remote cluster: its kubeconfig Secret ("remote:ns/name"), the
	// version of the Secret's kubeconfig, and the configuration without
	// impersonation (the cluster's watches serve every identity).
	cluster, version string
	clusterCfg       *rest.Config
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
	secret, key := "", ""
	if kc := obj.Spec.KubeConfig; kc != nil && kc.SecretRef != nil {
		secret, key = kc.SecretRef.Name, kc.SecretRef.Key
	}
	// Exec and auth-provider credential plugins would run code inside
	// Tether (CVE-2022-24817): refused unless Clusters.AllowPlugins.
	ft, err := cluster.ResolveFluxTarget(ctx, r.APIReader, r.Config, obj.Namespace, secret, key, r.Tenancy.ServiceAccount(obj.Spec.ServiceAccountName), r.Clusters)
	if apierrors.IsNotFound(err) {
		// The Secret is gone: so are the clients and watches made from it.
		keep := cluster.WithoutSecret("remote:", obj.Namespace, secret)
		r.clients.remote.Retain(keep)
		r.remoteDrift.Retain(keep)
	}
	if err != nil {
		return nil, fail(meta.ReconciliationFailedReason, err)
	}
	if ft.Version != "" {
		// One client per Secret and identity, replaced when the
		// kubeconfig changes.
		id := ft.Identity + "@" + ft.Version
		c, err := r.clients.remote.For(id, ft.Config, r.Client.Scheme())
		if err != nil {
			return nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("remote cluster: %w", err))
		}
		return &target{client: c, key: id, cfg: ft.Config, cluster: ft.Cluster, version: ft.Version, clusterCfg: ft.ClusterConfig}, nil
	}
	key = ft.Identity
	r.clients.mu.Lock()
	defer r.clients.mu.Unlock()
	if c, ok := r.clients.clients[key]; ok {
		return &target{client: c, key: key}, nil
	}
	c, err := client.New(ft.Config, client.Options{Scheme: r.Client.Scheme(), Mapper: r.Client.RESTMapper()})
	if err != nil {
		return nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("client for %s: %w", key, err))
	}
	if r.clients.clients == nil {
		r.clients.clients = map[string]client.Client{}
	}
	r.clients.clients[key] = c
	return &target{client: c, key: key}, nil
}

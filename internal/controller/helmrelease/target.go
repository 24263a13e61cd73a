package helmrelease

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/helm"
)

// target is the cluster and identity a HelmRelease releases with.
type target struct {
	cluster *helm.Cluster
	client  client.Client
}

type clusterEntry struct {
	cluster *helm.Cluster
	client  client.Client
}

// target returns the cluster of spec.kubeConfig (else the local one) with
// the identity of spec.serviceAccountName (else Tether's own).
func (r *Reconciler) target(ctx context.Context, obj *helmv2.HelmRelease) (*target, error) {
	cfg := rest.CopyConfig(r.Config)
	key := "local"
	if kc := obj.Spec.KubeConfig; kc != nil && kc.SecretRef != nil {
		remote, id, err := cluster.KubeconfigFromSecret(ctx, r.APIReader, obj.Namespace, kc.SecretRef.Name, kc.SecretRef.Key, r.Clusters)
		if err != nil {
			return nil, err
		}
		cfg, key = remote, "remote:"+id
	}
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + obj.Namespace + ":" + sa}
		key += "|sa:" + obj.Namespace + "/" + sa
	}
	r.targets.mu.Lock()
	defer r.targets.mu.Unlock()
	if e, ok := r.targets.clusters[key]; ok {
		return &target{cluster: e.cluster, client: e.client}, nil
	}
	hc, err := helm.NewCluster(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", key, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: r.Client.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", key, err)
	}
	if r.targets.clusters == nil {
		r.targets.clusters = map[string]*clusterEntry{}
	}
	r.targets.clusters[key] = &clusterEntry{cluster: hc, client: c}
	return &target{cluster: hc, client: c}, nil
}

// engine compares and applies the release's objects on the target with
// Helm's field manager.
func (t *target) engine(obj *helmv2.HelmRelease) (*engine.Engine, error) {
	return engine.New(t.client, engine.Owner{
		Name:         obj.Namespace + "/" + obj.Name,
		FieldManager: FieldManager,
		Labels:       map[string]string{helmv2.NameLabel: obj.Name, helmv2.NamespaceLabel: obj.Namespace},
	})
}

package helmrelease

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/livecache"
)

// target is the cluster and identity a HelmRelease releases with.
type target struct {
	cluster *helm.Cluster
	client  client.Client
	// key names the cluster and identity; live is the local cluster's
	// live cache, nil for a remote cluster or without one.
	key  string
	live *livecache.Cache
}

type clusterEntry struct {
	cluster *helm.Cluster
	client  client.Client
}

// target returns the cluster of spec.kubeConfig (else the local one) with
// the identity of spec.serviceAccountName (else Tether's own).
func (r *Reconciler) target(ctx context.Context, obj *helmv2.HelmRelease) (*target, error) {
	secret, kubeconfigKey := "", ""
	if kc := obj.Spec.KubeConfig; kc != nil && kc.SecretRef != nil {
		secret, kubeconfigKey = kc.SecretRef.Name, kc.SecretRef.Key
	}
	ft, err := cluster.ResolveFluxTarget(ctx, r.APIReader, r.Config, obj.Namespace, secret, kubeconfigKey, r.Tenancy.ServiceAccount(obj.Spec.ServiceAccountName), r.Clusters)
	if apierrors.IsNotFound(err) {
		r.targets.Retain(cluster.WithoutSecret("remote:", obj.Namespace, secret))
	}
	if err != nil {
		return nil, err
	}
	cfg, key, version := ft.Config, ft.Identity, ft.Version
	var live *livecache.Cache
	if version == "" {
		live = r.Live
	}
	// One entry per Secret and identity, replaced when the kubeconfig
	// changes.
	e, err := r.targets.Get(key, version, func() (*clusterEntry, error) {
		hc, err := helm.NewCluster(cfg)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", key, err)
		}
		c, err := client.New(cfg, client.Options{Scheme: r.Client.Scheme()})
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", key, err)
		}
		return &clusterEntry{cluster: hc, client: c}, nil
	})
	if err != nil {
		return nil, err
	}
	if version != "" {
		key += "@" + version
	}
	return &target{cluster: e.cluster, client: e.client, key: key, live: live}, nil
}

// engine compares and applies the release's objects on the target with
// Helm's field manager; in the local cluster it reads them from the live
// cache, so a drift check of a release nobody changed sends no request.
func (t *target) engine(obj *helmv2.HelmRelease) (*engine.Engine, error) {
	var opts []engine.Option
	if t.live != nil {
		opts = append(opts, engine.WithLiveCache(t.live, t.key))
	}
	return engine.New(t.client, engine.Owner{
		Name:         obj.Namespace + "/" + obj.Name,
		FieldManager: FieldManager,
		Labels:       map[string]string{helmv2.NameLabel: obj.Name, helmv2.NamespaceLabel: obj.Namespace},
	}, opts...)
}

// observer lets the release's waits read the live cache (in the local
// cluster) instead of listing and watching the release's namespace; nil
// elsewhere, where Helm's status watcher waits.
func (t *target) observer() *helm.Observer {
	if t.live == nil {
		return nil
	}
	return &helm.Observer{Reader: t.live.Reader(t.client), Changes: t.live.Changes}
}

package application

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// capabilities are what `helm template` is told about the destination
// cluster, as Argo CD passes them (--kube-version, --api-versions).
type capabilities struct {
	kubeVersion string
	apiVersions []string
	at          time.Time
}

// capabilityCache keeps each cluster's capabilities for a while:
// discovering every API group of a cluster for every render would cost
// dozens of requests.
type capabilityCache struct {
	mu      sync.Mutex
	entries map[string]capabilities
}

// helmCapabilities returns the kube version and API versions of the app's
// destination cluster; spec.source.helm.kubeVersion and apiVersions, when
// set, take their place.
func (r *Reconciler) helmCapabilities(ctx context.Context, app *argov1.Application, h *argov1.ApplicationSourceHelm) (string, []string, error) {
	if h != nil && h.KubeVersion != "" && len(h.APIVersions) > 0 {
		return h.KubeVersion, h.APIVersions, nil
	}
	dest, err := r.destination(ctx, app)
	if err != nil {
		return "", nil, err
	}
	key, cfg := argov1.InClusterName, r.mgr.GetConfig()
	if dest.cluster != nil {
		key, cfg = dest.cluster.ID, dest.cluster.Config
	}
	caps, err := r.capabilities.get(key, cfg, r.ResyncPeriod)
	if err != nil {
		return "", nil, fmt.Errorf("discover the API of cluster %s: %w", dest.name, err)
	}
	kv, av := caps.kubeVersion, caps.apiVersions
	if h != nil && h.KubeVersion != "" {
		kv = h.KubeVersion
	}
	if h != nil && len(h.APIVersions) > 0 {
		av = h.APIVersions
	}
	return kv, av, nil
}

func (c *capabilityCache) get(key string, cfg *rest.Config, ttl time.Duration) (capabilities, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && time.Since(e.at) < max(ttl, time.Minute) {
		return e, nil
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 30 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return capabilities{}, err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return capabilities{}, err
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return capabilities{}, err
	}
	var av []string
	for _, l := range lists {
		av = append(av, l.GroupVersion)
		for _, res := range l.APIResources {
			av = append(av, l.GroupVersion+"/"+res.Kind)
		}
	}
	slices.Sort(av)
	e = capabilities{kubeVersion: v.GitVersion, apiVersions: slices.Compact(av), at: time.Now()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]capabilities{}
	}
	c.entries[key] = e
	return e, nil
}

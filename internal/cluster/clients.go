package cluster

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Clients keeps one client per cluster ID, each with its own discovery
// (REST mapper), so a cluster is only asked for its API once.
type Clients struct {
	mu      sync.Mutex
	clients map[string]client.Client
}

// For returns the client of the cluster id, making it from cfg the first
// time. A changed Secret has a new id and so gets a new client.
func (c *Clients) For(id string, cfg *rest.Config, scheme *runtime.Scheme) (client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[id]; ok {
		return cl, nil
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", cfg.Host, err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	if c.clients == nil {
		c.clients = map[string]client.Client{}
	}
	c.clients[id] = cl
	return cl, nil
}

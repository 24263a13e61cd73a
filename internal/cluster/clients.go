package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Clients keeps one client per cluster ID, each with its own discovery
// (REST mapper), so a cluster is only asked for its API once.
type Clients struct {
	mu      sync.Mutex
	clients map[string]client.Client
	http    map[string]*http.Client // the transport each client uses
	checked map[string]time.Time    // last successful Version per id
}

// versionCheckTTL is how long a successful Version answers for a cluster
// without asking it again.
const versionCheckTTL = 30 * time.Second

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
		c.clients, c.http = map[string]client.Client{}, map[string]*http.Client{}
	}
	c.clients[id], c.http[id] = cl, httpClient
	return cl, nil
}

// Version asks the cluster id (made by For) for its version over the
// client's own connections: a cheap check that the credentials work and
// the server answers. A success answers for versionCheckTTL, so that the
// apps of one cluster do not ask once each; a changed Secret has a new id
// and is asked at once.
func (c *Clients) Version(ctx context.Context, id string, cfg *rest.Config) error {
	c.mu.Lock()
	httpClient, last := c.http[id], c.checked[id]
	c.mu.Unlock()
	if httpClient == nil {
		return fmt.Errorf("no client for %s yet", cfg.Host)
	}
	if time.Since(last) < versionCheckTTL {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return err
	}
	if err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.checked == nil {
		c.checked = map[string]time.Time{}
	}
	c.checked[id] = time.Now()
	c.mu.Unlock()
	return nil
}

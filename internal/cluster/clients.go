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

	"github.com/tether-gitops/tether/internal/restmapping"
)

// Clients keeps one client per cluster credential, each with its own
// discovery (REST mapper), so a cluster is only asked for its API once. A
// changed credential replaces its client (closing the old connections);
// Retain drops the clients of credentials that are gone.
type Clients struct {
	once     sync.Once
	versions Versioned[*clusterClient]
}

// clusterClient is one client and the transport it uses.
type clusterClient struct {
	client client.Client
	http   *http.Client

	mu      sync.Mutex
	checked time.Time // last successful Version
}

// versionCheckTTL is how long a successful Version answers for a cluster
// without asking it again.
const versionCheckTTL = 30 * time.Second

func (c *Clients) init() {
	c.once.Do(func() {
		c.versions.Close = func(cc *clusterClient) { cc.http.CloseIdleConnections() }
	})
}

// For returns the client of the cluster credential id ("namespace/name@
// digest", see SplitID), making it from cfg the first time and again when
// the digest changes.
func (c *Clients) For(id string, cfg *rest.Config, scheme *runtime.Scheme) (client.Client, error) {
	cc, err := c.get(id, cfg, scheme)
	if err != nil {
		return nil, err
	}
	return cc.client, nil
}

func (c *Clients) get(id string, cfg *rest.Config, scheme *runtime.Scheme) (*clusterClient, error) {
	c.init()
	name, version := SplitID(id)
	return c.versions.Get(name, version, func() (*clusterClient, error) {
		httpClient, err := rest.HTTPClientFor(cfg)
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
		}
		mapper, err := restmapping.NewDynamic(cfg, httpClient)
		if err != nil {
			return nil, fmt.Errorf("discovery of %s: %w", cfg.Host, err)
		}
		cl, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mapper, HTTPClient: httpClient})
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
		}
		return &clusterClient{client: cl, http: httpClient}, nil
	})
}

// Retain drops the clients of the credentials whose name (SplitID) keep
// refuses: a removed cluster Secret.
func (c *Clients) Retain(keep func(name string) bool) {
	c.init()
	c.versions.Retain(keep)
}

// Len is the number of clients kept.
func (c *Clients) Len() int { return c.versions.Len() }

// Version asks the cluster of the credential id (made by For) for its
// version over the client's own connections: a cheap check that the
// credentials work and the server answers. A success answers for
// versionCheckTTL, so that the apps of one cluster do not ask once each; a
// changed credential is a new client and is asked at once.
func (c *Clients) Version(ctx context.Context, id string, cfg *rest.Config, scheme *runtime.Scheme) error {
	cc, err := c.get(id, cfg, scheme)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	last := cc.checked
	cc.mu.Unlock()
	if time.Since(last) < versionCheckTTL {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, cc.http)
	if err != nil {
		return err
	}
	if err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return err
	}
	cc.mu.Lock()
	cc.checked = time.Now()
	cc.mu.Unlock()
	return nil
}

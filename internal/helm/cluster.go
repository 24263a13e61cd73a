package helm

import (
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/kubectl/pkg/validation"
)

// Cluster is one cluster and identity that releases are made on. It shares
// discovery and the REST mapping between every release on it, so that a
// thousand releases do not discover the API a thousand times.
type Cluster struct {
	config    *rest.Config
	clientset kubernetes.Interface

	once      sync.Once
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	err       error

	// freshMu guards fresh and version: when discovery was last emptied
	// for a Helm action, and the server version learnt then.
	freshMu sync.Mutex
	fresh   time.Time
	version *version.Info

	// validators are Helm's schema validators by directive, shared by
	// every action (see validatingFactory).
	validatorsMu sync.Mutex
	validators   map[string]validation.Schema
}

// NewCluster returns a Cluster for cfg (copied).
func NewCluster(cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Cluster{config: cfg, clientset: cs}, nil
}

func (c *Cluster) init() error {
	c.once.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(c.config)
		if err != nil {
			c.err = fmt.Errorf("discovery client: %w", err)
			return
		}
		c.discovery = memory.NewMemCacheClient(dc)
		c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(c.discovery)
	})
	return c.err
}

// Invalidate forgets what discovery learnt, for example after a chart
// installed CRDs.
func (c *Cluster) Invalidate() {
	if c.init() == nil {
		c.freshMu.Lock()
		c.fresh, c.version = time.Now(), nil
		c.discovery.Invalidate()
		c.freshMu.Unlock()
		c.mapper.Reset()
	}
	c.forgetValidators()
}

// DiscoveryMaxAge is how long Helm's actions share what discovery
// learnt: every action asks to forget it (so that a chart's
// .Capabilities see kinds added since), which, shared by a thousand
// releases, cost each release a discovery round and two /version
// requests. Within this age an action's request is ignored; a release
// that installs CRDs still empties it at once (Invalidate).
const DiscoveryMaxAge = 30 * time.Second

// sharedDiscovery is the Cluster's discovery as Helm's actions see it.
type sharedDiscovery struct {
	discovery.CachedDiscoveryInterface
	cluster *Cluster
}

// Invalidate forgets what discovery learnt if that is older than
// DiscoveryMaxAge.
func (d *sharedDiscovery) Invalidate() {
	c := d.cluster
	c.freshMu.Lock()
	defer c.freshMu.Unlock()
	if time.Since(c.fresh) < DiscoveryMaxAge {
		return
	}
	c.fresh = time.Now()
	c.version = nil
	d.CachedDiscoveryInterface.Invalidate()
}

// ServerVersion asks the server once per DiscoveryMaxAge.
func (d *sharedDiscovery) ServerVersion() (*version.Info, error) {
	c := d.cluster
	c.freshMu.Lock()
	v := c.version
	c.freshMu.Unlock()
	if v != nil {
		return v, nil
	}
	v, err := d.CachedDiscoveryInterface.ServerVersion()
	if err != nil {
		return nil, err
	}
	c.freshMu.Lock()
	c.version = v
	c.freshMu.Unlock()
	return v, nil
}

func (c *Cluster) forgetValidators() {
	c.validatorsMu.Lock()
	c.validators = nil
	c.validatorsMu.Unlock()
}

// validatingFactory is Helm's factory with one validator per directive
// for the whole Cluster. Helm asks its factory for a new validator in
// every action, which fetched and parsed the API server's OpenAPI
// documents again to learn that it validates fields itself: a third of
// the CPU of a thousand installs. A validator that failed is dropped, so
// that an answer about a kind not yet installed is not kept.
type validatingFactory struct {
	kube.Factory
	cluster *Cluster
}

// Validator implements kube.Factory.
func (f *validatingFactory) Validator(directive string) (validation.Schema, error) {
	c := f.cluster
	c.validatorsMu.Lock()
	v, ok := c.validators[directive]
	c.validatorsMu.Unlock()
	if !ok {
		made, err := f.Factory.Validator(directive)
		if err != nil {
			return nil, err
		}
		c.validatorsMu.Lock()
		if c.validators == nil {
			c.validators = map[string]validation.Schema{}
		}
		if v, ok = c.validators[directive]; !ok {
			v = made
			c.validators[directive] = v
		}
		c.validatorsMu.Unlock()
	}
	return &sharedSchema{Schema: v, cluster: c}, nil
}

// sharedSchema is a shared validator that is dropped when it fails.
type sharedSchema struct {
	validation.Schema
	cluster *Cluster
}

// ValidateBytes implements validation.Schema.
func (s *sharedSchema) ValidateBytes(data []byte) error {
	err := s.Schema.ValidateBytes(data)
	if err != nil {
		s.cluster.forgetValidators()
	}
	return err
}

// getter returns the RESTClientGetter Helm's kube client needs, defaulting
// to namespace.
func (c *Cluster) getter(namespace string) (genericclioptions.RESTClientGetter, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	return &clientGetter{cluster: c, namespace: namespace}, nil
}

// clientGetter implements genericclioptions.RESTClientGetter over a
// Cluster, without a kubeconfig file.
type clientGetter struct {
	cluster   *Cluster
	namespace string
}

func (g *clientGetter) ToRESTConfig() (*rest.Config, error) {
	return rest.CopyConfig(g.cluster.config), nil
}

func (g *clientGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return &sharedDiscovery{CachedDiscoveryInterface: g.cluster.discovery, cluster: g.cluster}, nil
}

func (g *clientGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.cluster.mapper, nil }

func (g *clientGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return &namespacedConfig{getter: g}
}

// namespacedConfig is the smallest clientcmd.ClientConfig: the cluster's
// rest.Config and a default namespace; no kubeconfig file is read.
type namespacedConfig struct{ getter *clientGetter }

func (n *namespacedConfig) RawConfig() (clientcmdapi.Config, error) {
	return clientcmdapi.Config{}, nil
}

func (n *namespacedConfig) ClientConfig() (*rest.Config, error) { return n.getter.ToRESTConfig() }

func (n *namespacedConfig) Namespace() (string, bool, error) {
	return n.getter.namespace, false, nil
}

func (n *namespacedConfig) ConfigAccess() clientcmd.ConfigAccess { return nil }

package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/livecache"
)

// Owner is the identity stamped on everything an Engine applies: the field
// manager of every server-side apply and labels that mark the objects as
// this owner's, so that Prune never deletes what someone else has adopted.
type Owner struct {
	// Name and Namespace name the owner (a Kustomization, an Application)
	// in messages.
	Name, Namespace string
	// Labels are set on every applied object and must all still match
	// before Prune deletes one, e.g.
	// kustomize.toolkit.fluxcd.io/name=<name> and
	// kustomize.toolkit.fluxcd.io/namespace=<namespace>.
	Labels map[string]string
	// Owns, when set, decides instead of Labels whether Prune may delete a
	// live object: an Argo CD Application marks its objects with a
	// per-object tracking annotation rather than with fixed labels. Labels
	// may then be empty.
	Owns func(live metav1.Object) bool
	// FieldManager is the server-side apply field manager.
	FieldManager string
}

// String is "<namespace>/<name>", for messages.
func (o Owner) String() string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// Engine plans, validates, applies, diffs, prunes and health-checks the
// objects of one Owner with one client. It keeps no state between calls and
// is safe for concurrent use.
type Engine struct {
	client       client.Client
	mapper       meta.RESTMapper
	owner        Owner
	poller       *polling.StatusPoller
	pollInterval time.Duration
	timeout      time.Duration
	// live, when set, serves reads of live objects and remembers
	// predictions under memoID (the client's identity and the field
	// manager); reader reads through it, or is client.
	live   *livecache.Cache
	memoID string
	reader client.Reader
}

// Option configures New.
type Option func(*Engine)

// WithRESTMapper sets the mapper used to tell cluster-scoped kinds from
// namespaced ones and to find versions; the client's own by default.
func WithRESTMapper(m meta.RESTMapper) Option { return func(e *Engine) { e.mapper = m } }

// WithPollInterval sets how often Wait and the staged apply poll object
// status; DefaultPollInterval by default.
func WithPollInterval(d time.Duration) Option { return func(e *Engine) { e.pollInterval = d } }

// WithLiveCache reads live objects through c, the live cache of the
// engine's cluster, and lets a Compare or Diff trust c's memory of an
// earlier dry run instead of sending another: when neither the desired
// object nor the live one (its resource version) changed since. identity
// names the credentials the engine's client acts with (an impersonated
// user, a cluster), for a prediction holds only for who asked.
func WithLiveCache(c *livecache.Cache, identity string) Option {
	return func(e *Engine) { e.live, e.memoID = c, identity }
}

// WithTimeout bounds Apply, Diff and Prune when the caller's context has
// no deadline; DefaultTimeout by default.
func WithTimeout(d time.Duration) Option { return func(e *Engine) { e.timeout = d } }

const (
	// DefaultPollInterval is how often object status is polled.
	DefaultPollInterval = 2 * time.Second
	// DefaultTimeout bounds a call whose context has no deadline.
	DefaultTimeout = 5 * time.Minute
	// DefaultConcurrency is how many objects are diffed at once.
	DefaultConcurrency = 4
	// MaxConcurrency caps ApplyOptions.Concurrency.
	MaxConcurrency = 32
)

// New returns an Engine that acts through c. Impersonation and the target
// cluster are the caller's choice: pass a client built from the
// impersonated or remote *rest.Config. The owner needs a field manager and
// at least one label.
func New(c client.Client, owner Owner, opts ...Option) (*Engine, error) {
	if c == nil {
		return nil, errors.New("engine: nil client")
	}
	if owner.FieldManager == "" {
		return nil, fmt.Errorf("engine: owner %s has no field manager", owner)
	}
	if len(owner.Labels) == 0 && owner.Owns == nil {
		return nil, fmt.Errorf("engine: owner %s has no labels: Prune could not tell its objects from others'", owner)
	}
	e := &Engine{client: c, mapper: c.RESTMapper(), owner: owner, pollInterval: DefaultPollInterval, timeout: DefaultTimeout}
	for _, o := range opts {
		o(e)
	}
	if e.mapper == nil {
		return nil, errors.New("engine: no REST mapper: the client has none, pass WithRESTMapper")
	}
	e.poller = polling.NewStatusPoller(c, e.mapper, polling.Options{})
	e.reader = c
	if e.live != nil {
		e.reader = e.live.Reader(c)
		e.memoID += "|" + owner.FieldManager
	}
	return e, nil
}

// manager returns a fresh ssa.ResourceManager: its concurrency is a field,
// so sharing one between calls with different options would race.
func (e *Engine) manager(n int) *ssa.ResourceManager {
	return e.managerWith(e.client, n)
}

// diffManager is manager for diffs: it reads live objects through the
// live cache when there is one.
func (e *Engine) diffManager(n int) *ssa.ResourceManager {
	if e.live == nil {
		return e.manager(n)
	}
	return e.managerWith(readThrough{Client: e.client, reader: e.reader}, n)
}

func (e *Engine) managerWith(c client.Client, n int) *ssa.ResourceManager {
	rm := ssa.NewResourceManager(c, e.poller, ssa.Owner{Field: e.owner.FieldManager})
	rm.SetConcurrency(concurrency(n))
	return rm
}

// readThrough is a client whose reads go to reader.
type readThrough struct {
	client.Client
	reader client.Reader
}

func (c readThrough) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.reader.Get(ctx, key, obj, opts...)
}

// bound gives ctx the engine's timeout when it has no deadline of its own.
func (e *Engine) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || e.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, e.timeout)
}

// concurrency clamps n to [1, MaxConcurrency], DefaultConcurrency for 0.
func concurrency(n int) int {
	switch {
	case n <= 0:
		return DefaultConcurrency
	case n > MaxConcurrency:
		return MaxConcurrency
	}
	return n
}

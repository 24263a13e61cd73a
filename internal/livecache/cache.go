// Package livecache keeps, per cluster, an in-memory copy of the objects
// Tether manages, so that comparing Git with the cluster reads memory
// instead of the API server, and remembers what the API server predicted
// for them, so that an object neither Git nor anyone else changed is not
// dry-run again.
//
// One informer per kind, started the first time the kind is read, lists
// and watches every object of the kind, but keeps whole only the objects a
// Marker says are managed (a Flux name label, an Argo CD tracking
// annotation); any other object is kept as a stub of its name, resource
// version and owner references, so that memory grows with managed objects and a read of an
// unmanaged one (about to be adopted) goes to the API server. Managed
// objects are kept without managedFields.
//
//	lc, err := livecache.New(cfg, scheme, mapper, livecache.Options{Markers: markers})
//	_ = mgr.Add(lc)                     // runs the informers
//	reader := lc.Reader(apiReader)      // served from memory when it can be
package livecache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Marker says an object is managed: it carries the label, or the
// annotation, named (any value).
type Marker struct {
	Label, Annotation string
}

// Options configure New.
type Options struct {
	// Markers say which objects are kept whole. An object matching none
	// is kept as a stub.
	Markers []Marker
	// MemoTTL is how long a remembered prediction is trusted;
	// DefaultMemoTTL when zero. It bounds how long a change of the API
	// server's defaulting or admission goes unnoticed for an object that
	// nothing else changed.
	MemoTTL time.Duration
	// WriteTTL is how long a write through Wrote makes reads of that
	// object wait for the informer to see it (read-your-writes);
	// DefaultWriteTTL when zero.
	WriteTTL time.Duration
}

const (
	// DefaultMemoTTL is Options.MemoTTL's default.
	DefaultMemoTTL = time.Hour
	// DefaultWriteTTL is Options.WriteTTL's default.
	DefaultWriteTTL = 10 * time.Second
	// stubAnnotation marks a stub in memory; it is never written.
	stubAnnotation = "livecache.tether.dev/stub"
)

// Cache is the live cache of one cluster. It is safe for concurrent use
// and is run by Start (a controller-runtime Runnable).
type Cache struct {
	cache crcache.Cache
	opts  Options
	now   func() time.Time

	mu       sync.Mutex
	handled  map[schema.GroupVersionKind]bool
	memo     map[objectKey]memos
	writes   map[objectKey]writeEntry
	started  bool
	startErr error

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}
}

type objectKey struct {
	gk              schema.GroupKind
	namespace, name string
}

// memos are the memories of one object, one per identity (usually one):
// a slice, as a map per object cost a kilobyte each at 100,000 objects.
type memos []memoEntry

func (m memos) get(identity string) (memoEntry, bool) {
	for _, e := range m {
		if e.identity == identity {
			return e, true
		}
	}
	return memoEntry{}, false
}

func (m memos) set(e memoEntry) memos {
	for i := range m {
		if m[i].identity == e.identity {
			m[i] = e
			return m
		}
	}
	return append(m, e)
}

func (m memos) without(identity string) memos {
	for i := range m {
		if m[i].identity == identity {
			return append(m[:i:i], m[i+1:]...)
		}
	}
	return m
}

type memoEntry struct {
	identity                string
	digest, resourceVersion string
	// predicted is the dry run's answer for an object that does not
	// exist (resourceVersion is then empty), as JSON without
	// managedFields: an app waiting for a sync holds one per object, and
	// 10,000 waiting apps held 200 MB of them as maps; see RememberAbsent.
	predicted []byte
	at        time.Time
}

type writeEntry struct {
	resourceVersion string
	at              time.Time
}

// New returns a Cache of the cluster cfg connects to. Its identity must be
// able to list and watch the managed kinds cluster-wide; a kind it cannot
// watch is read from the API server instead.
func New(cfg *rest.Config, scheme *runtime.Scheme, mapper meta.RESTMapper, opts Options) (*Cache, error) {
	if opts.MemoTTL <= 0 {
		opts.MemoTTL = DefaultMemoTTL
	}
	if opts.WriteTTL <= 0 {
		opts.WriteTTL = DefaultWriteTTL
	}
	c := &Cache{opts: opts, now: time.Now, handled: map[schema.GroupVersionKind]bool{},
		memo: map[objectKey]memos{}, writes: map[objectKey]writeEntry{},
		subs: map[chan struct{}]struct{}{}}
	cc, err := crcache.New(cfg, crcache.Options{Scheme: scheme, Mapper: mapper, DefaultTransform: c.transform})
	if err != nil {
		return nil, fmt.Errorf("live cache: %w", err)
	}
	c.cache = cc
	return c, nil
}

// Start runs the informers until ctx ends.
func (c *Cache) Start(ctx context.Context) error {
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	return c.cache.Start(ctx)
}

// NeedLeaderElection is false: every replica reads through its cache.
func (c *Cache) NeedLeaderElection() bool { return false }

// Informers is the underlying cache, for watches (controller-runtime's
// source.Kind) on the same informers that serve reads: an event reaches a
// handler only after the cache holds it.
func (c *Cache) Informers() crcache.Cache { return c.cache }

// Managed reports whether obj carries one of the markers.
func (c *Cache) Managed(obj client.Object) bool {
	labels, annotations := obj.GetLabels(), obj.GetAnnotations()
	for _, m := range c.opts.Markers {
		if _, ok := labels[m.Label]; ok && m.Label != "" {
			return true
		}
		if _, ok := annotations[m.Annotation]; ok && m.Annotation != "" {
			return true
		}
	}
	return false
}

// IsStub reports whether obj, read from the cache, is the stub of an
// unmanaged object.
func IsStub(obj client.Object) bool {
	_, ok := obj.GetAnnotations()[stubAnnotation]
	return ok
}

// transform keeps managed objects without managedFields and reduces the
// others to stubs.
func (c *Cache) transform(in any) (any, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return in, nil
	}
	if c.Managed(u) {
		u.SetManagedFields(nil)
		return u, nil
	}
	s := &unstructured.Unstructured{}
	s.SetAPIVersion(u.GetAPIVersion())
	s.SetKind(u.GetKind())
	s.SetNamespace(u.GetNamespace())
	s.SetName(u.GetName())
	s.SetUID(u.GetUID())
	s.SetResourceVersion(u.GetResourceVersion())
	s.SetGeneration(u.GetGeneration())
	s.SetOwnerReferences(u.GetOwnerReferences())
	s.SetAnnotations(map[string]string{stubAnnotation: "true"})
	return s, nil
}

// informer returns the informer of gvk, starting it without waiting for
// its first list, and whether it has listed (its answers are complete).
func (c *Cache) informer(ctx context.Context, gvk schema.GroupVersionKind) (crcache.Informer, bool, error) {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil, false, nil
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	inf, err := c.cache.GetInformer(ctx, obj, crcache.BlockUntilSynced(false))
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	first := !c.handled[gvk]
	c.handled[gvk] = true
	c.mu.Unlock()
	if first {
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    c.observed,
			UpdateFunc: func(_, n any) { c.observed(n) },
			DeleteFunc: c.deleted,
		}); err != nil {
			return nil, false, fmt.Errorf("watch %s: %w", gvk, err)
		}
	}
	return inf, inf.HasSynced(), nil
}

// Ensure starts the informer of gvk if needed and waits until it has
// listed, or until ctx ends (the kind is then read from the API server
// until it has).
func (c *Cache) Ensure(ctx context.Context, gvk schema.GroupVersionKind) {
	inf, synced, err := c.informer(ctx, gvk)
	if err != nil || synced || inf == nil {
		return
	}
	toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
}

func keyOf(obj client.Object) objectKey {
	return objectKey{gk: obj.GetObjectKind().GroupVersionKind().GroupKind(), namespace: obj.GetNamespace(), name: obj.GetName()}
}

// observed drops the record of a write once the informer has seen it.
func (c *Cache) observed(o any) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	c.forget(obj, false)
	c.notify()
}

// deleted forgets what was remembered of a deleted object.
func (c *Cache) deleted(o any) {
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	if obj, ok := o.(client.Object); ok {
		c.forget(obj, true)
	}
	c.notify()
}

// Changes subscribes to notices that an object the cache watches was
// added, changed or deleted: a sync waiting for health re-reads (from
// memory) on each notice instead of polling the API server. Notices
// coalesce: one pending notice stands for any number of changes. stop
// ends the subscription.
func (c *Cache) Changes() (notices <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	c.subMu.Lock()
	c.subs[ch] = struct{}{}
	c.subMu.Unlock()
	return ch, func() {
		c.subMu.Lock()
		delete(c.subs, ch)
		c.subMu.Unlock()
	}
}

// notify sends every subscriber a notice, without blocking.
func (c *Cache) notify() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// forget drops the record of a write to obj once the informer shows its
// version, and with gone everything remembered of obj.
func (c *Cache) forget(obj client.Object, gone bool) {
	k := keyOf(obj)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gone {
		delete(c.memo, k)
		delete(c.writes, k)
		return
	}
	if w, ok := c.writes[k]; ok && (w.resourceVersion == obj.GetResourceVersion() || newerVersion(obj.GetResourceVersion(), w.resourceVersion)) {
		delete(c.writes, k)
	}
}

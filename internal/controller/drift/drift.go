package drift

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	wq "k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Options configure a Watcher.
type Options struct {
	// Selector, when set, limits the watches to objects with these labels.
	Selector labels.Selector
	// Owner names the object that owns a watched object; false when none.
	Owner func(o client.Object) (types.NamespacedName, bool)
	// OnEvent is called before the owner is enqueued. spec is true when
	// the object's desired state changed (generation, labels, annotations)
	// or it was deleted, false when only its status moved.
	OnEvent func(owner types.NamespacedName, spec bool)
	// Config and Mapper, when set, watch another cluster than the
	// manager's (a remote destination).
	Config *rest.Config
	Mapper meta.RESTMapper
	// Cache, when set, is the live cache of the cluster to watch
	// (livecache.Cache.Informers()): the watches share its informers of
	// whole objects, and an event arrives after the cache holds it.
	// Otherwise the Watcher runs its own metadata-only cache.
	Cache cache.Cache
	// Run, when set, runs the Watcher's own cache (when Cache is not
	// given) instead of mgr.Add, so that its owner can stop it.
	Run func(manager.Runnable) error
	// StatusChanges also wakes owners when only an object's status (its
	// resource version, same generation) changed: Argo CD Applications
	// follow their objects' health.
	StatusChanges bool
}

// Watcher starts metadata-only watches per kind and maps their events to
// owners of the controller it was made for.
type Watcher struct {
	cache cache.Cache
	ctrl  controller.Controller
	opts  Options

	mu      sync.Mutex
	watched map[schema.GroupVersionKind]bool
}

// New makes a Watcher with its own cache, run by mgr, that enqueues into c.
func New(mgr ctrl.Manager, c controller.Controller, opts Options) (*Watcher, error) {
	if opts.Cache != nil {
		return &Watcher{cache: opts.Cache, ctrl: c, opts: opts, watched: map[schema.GroupVersionKind]bool{}}, nil
	}
	cfg, mapper := mgr.GetConfig(), mgr.GetRESTMapper()
	if opts.Config != nil {
		cfg, mapper = opts.Config, opts.Mapper
	}
	co := cache.Options{Scheme: mgr.GetScheme(), Mapper: mapper}
	if opts.Selector != nil {
		co.DefaultLabelSelector = opts.Selector
	}
	cc, err := cache.New(cfg, co)
	if err != nil {
		return nil, fmt.Errorf("drift cache: %w", err)
	}
	run := mgr.Add
	if opts.Run != nil {
		run = opts.Run
	}
	if err := run(cc); err != nil {
		return nil, err
	}
	return &Watcher{cache: cc, ctrl: c, opts: opts, watched: map[schema.GroupVersionKind]bool{}}, nil
}

// RunUntil returns an Options.Run that runs a runnable under mgr until mgr
// stops or done ends: the watches of a cluster whose credentials changed or
// went away are stopped by ending done.
func RunUntil(mgr ctrl.Manager, done context.Context) func(manager.Runnable) error {
	return func(r manager.Runnable) error { return mgr.Add(stoppable{runnable: r, done: done}) }
}

// stoppable runs a runnable until the manager's context or done ends;
// ending by done is not an error (the manager goes on).
type stoppable struct {
	runnable manager.Runnable
	done     context.Context
}

// Start runs the runnable until ctx or done ends.
func (s stoppable) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.done, cancel)()
	err := s.runnable.Start(ctx)
	if s.done.Err() != nil {
		return nil
	}
	return err
}

// NeedLeaderElection is false: watches serve every replica.
func (s stoppable) NeedLeaderElection() bool { return false }

// syncTimeout bounds how long Ensure waits for a new watch to list its
// objects.
const syncTimeout = 30 * time.Second

// Ensure watches objects of kind gvk, once. The first call returns when
// the watch has listed the kind's objects (or after syncTimeout): an
// object changed before that would come in as part of the initial list,
// which is not an event, so the caller reads live state only after the
// watch can see every later change.
func (w *Watcher) Ensure(gvk schema.GroupVersionKind) error {
	if err := w.ensure(gvk); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	inf, err := w.cache.GetInformer(ctx, w.object(gvk), cache.BlockUntilSynced(false))
	if err != nil {
		return nil // the watch itself reports; drift is still caught by the periodic resync
	}
	toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
	return nil
}

// Watching reports whether objects of kind gvk were already watched
// (Ensure was called for it before).
func (w *Watcher) Watching(gvk schema.GroupVersionKind) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watched[gvk]
}

func (w *Watcher) ensure(gvk schema.GroupVersionKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched[gvk] {
		return nil
	}
	src := source.Kind[client.Object](w.cache, w.object(gvk), handler.Funcs{
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue) {
			if spec, ok := changed(e.ObjectOld, e.ObjectNew, w.opts.StatusChanges); ok {
				// An object whose owner marks were removed is still
				// its former owner's business.
				if !w.enqueue(e.ObjectNew, spec, q) {
					w.enqueue(e.ObjectOld, spec, q)
				}
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue) { w.enqueue(e.Object, true, q) },
	}, predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }})
	if err := w.ctrl.Watch(src); err != nil {
		return fmt.Errorf("watch %s for drift: %w", gvk, err)
	}
	w.watched[gvk] = true
	return nil
}

// object is an empty object of kind gvk, of the type the cache holds.
func (w *Watcher) object(gvk schema.GroupVersionKind) client.Object {
	if w.opts.Cache != nil {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		return u
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	return obj
}

type workqueue = wq.TypedRateLimitingInterface[reconcile.Request]

// enqueue wakes o's owner, if it has one.
func (w *Watcher) enqueue(o client.Object, spec bool, q workqueue) bool {
	key, ok := w.opts.Owner(o)
	if !ok {
		return false
	}
	if w.opts.OnEvent != nil {
		w.opts.OnEvent(key, spec)
	}
	q.Add(reconcile.Request{NamespacedName: key})
	return true
}

// changed says whether an update matters, and whether it touched the
// desired state (spec) rather than only the status.
func changed(o, n client.Object, statusToo bool) (spec, ok bool) {
	if o == nil || n == nil {
		return false, false
	}
	switch {
	case n.GetGeneration() != 0 && n.GetGeneration() != o.GetGeneration(),
		n.GetGeneration() == 0 && n.GetResourceVersion() != o.GetResourceVersion(),
		!maps.Equal(o.GetLabels(), n.GetLabels()), !maps.Equal(o.GetAnnotations(), n.GetAnnotations()):
		return true, true
	case statusToo && n.GetResourceVersion() != o.GetResourceVersion():
		return false, true
	}
	return false, false
}

// List returns the watched objects of kind gvk in namespace (metadata
// only), from the cache: nothing when the kind is not watched yet.
func (w *Watcher) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string) ([]metav1.PartialObjectMetadata, error) {
	w.mu.Lock()
	watched := w.watched[gvk]
	w.mu.Unlock()
	if !watched {
		return nil, nil
	}
	listGVK := gvk.GroupVersion().WithKind(gvk.Kind + "List")
	if w.opts.Cache == nil {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(listGVK)
		if err := w.cache.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", gvk.Kind, namespace, err)
		}
		return list.Items, nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(listGVK)
	if err := w.cache.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", gvk.Kind, namespace, err)
	}
	out := make([]metav1.PartialObjectMetadata, 0, len(list.Items))
	for _, u := range list.Items {
		m := metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()}}
		m.Name, m.Namespace, m.UID = u.GetName(), u.GetNamespace(), u.GetUID()
		m.Labels, m.Annotations, m.OwnerReferences = u.GetLabels(), u.GetAnnotations(), u.GetOwnerReferences()
		out = append(out, m)
	}
	return out, nil
}

package kustomization

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
)

// driftWatcher watches the kinds that Kustomizations applied, metadata
// only and only objects that carry the owner label, so memory grows with
// managed objects, not with the cluster. A change or deletion of a managed
// object re-queues its Kustomization.
type driftWatcher struct {
	cache   cache.Cache
	ctrl    controller.Controller
	onDrift func(types.NamespacedName)

	mu      sync.Mutex
	watched map[schema.GroupVersionKind]bool
}

func newDriftWatcher(mgr ctrl.Manager, c controller.Controller, onDrift func(types.NamespacedName)) (*driftWatcher, error) {
	owned, err := labels.NewRequirement(kustomizev1.NameLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	cc, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.NewSelector().Add(*owned),
	})
	if err != nil {
		return nil, fmt.Errorf("drift cache: %w", err)
	}
	if err := mgr.Add(cc); err != nil {
		return nil, err
	}
	return &driftWatcher{cache: cc, ctrl: c, onDrift: onDrift, watched: map[schema.GroupVersionKind]bool{}}, nil
}

// ensure starts watching gvk unless it is watched already.
func (d *driftWatcher) ensure(gvk schema.GroupVersionKind) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.watched[gvk] {
		return nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	src := source.Kind[client.Object](d.cache, obj, handler.EnqueueRequestsFromMapFunc(d.owner), specChanged{})
	if err := d.ctrl.Watch(src); err != nil {
		return fmt.Errorf("watch %s for drift: %w", gvk, err)
	}
	d.watched[gvk] = true
	return nil
}

// owner maps a managed object to its Kustomization and marks it dirty.
func (d *driftWatcher) owner(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	name, ns := l[kustomizev1.NameLabel], l[kustomizev1.NamespaceLabel]
	if name == "" || ns == "" {
		return nil
	}
	key := types.NamespacedName{Namespace: ns, Name: name}
	d.onDrift(key)
	return []reconcile.Request{{NamespacedName: key}}
}

// specChanged passes deletions and updates that may change what was
// applied: a new generation, or any change for kinds without generations
// (ConfigMaps, Secrets), or changed labels or annotations. Status-only
// updates of kinds with generations (a Deployment rolling out) pass not.
type specChanged struct{ predicate.Funcs }

// Create does not pass: objects appear because they were applied.
func (specChanged) Create(event.CreateEvent) bool { return false }

// Delete passes: a deleted object must be put back.
func (specChanged) Delete(event.DeleteEvent) bool { return true }

// Update passes for changes that are not status-only.
func (specChanged) Update(e event.UpdateEvent) bool {
	o, n := e.ObjectOld, e.ObjectNew
	if o == nil || n == nil {
		return false
	}
	if n.GetGeneration() != 0 && n.GetGeneration() != o.GetGeneration() {
		return true
	}
	if n.GetGeneration() == 0 && n.GetResourceVersion() != o.GetResourceVersion() {
		return true
	}
	return !equalMaps(o.GetLabels(), n.GetLabels()) || !equalMaps(o.GetAnnotations(), n.GetAnnotations())
}

// Generic does not pass.
func (specChanged) Generic(event.GenericEvent) bool { return false }

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

package application

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/source"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// DefaultOperationProcessors is how many syncs run at once when
// Reconciler.OperationProcessors is 0 (Argo CD's --operation-processors
// default).
const DefaultOperationProcessors = 10

// operations runs syncs on a pool of their own, as Argo CD's operation
// processors do: a sync that waits for hooks, waves or health never holds
// one of the workers that compare apps, so eight long PreSync hooks do not
// keep a ninth app from being looked at. While an app's operation runs,
// its reconciles do nothing (the operation writes its status); when the
// operation ends, the app is queued again.
type operations struct {
	slots chan struct{}
	done  chan event.TypedGenericEvent[client.Object]

	mu      sync.Mutex
	running map[types.NamespacedName]context.CancelFunc
}

func newOperations(processors int) *operations {
	if processors <= 0 {
		processors = DefaultOperationProcessors
	}
	return &operations{
		slots:   make(chan struct{}, processors),
		done:    make(chan event.TypedGenericEvent[client.Object], 1024),
		running: map[types.NamespacedName]context.CancelFunc{},
	}
}

// source queues an app whose operation ended.
func (o *operations) source() source.Source {
	return source.Channel(o.done, &handler.EnqueueRequestForObject{})
}

// busy reports whether key's operation is running (or waiting for a
// processor).
func (o *operations) busy(key types.NamespacedName) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.running[key]
	return ok
}

// cancel stops key's operation, if one runs: the app is being deleted.
func (o *operations) cancel(key types.NamespacedName) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if stop, ok := o.running[key]; ok {
		stop()
	}
}

// start runs fn for key on a processor, with a context that ends with ctx
// or cancel(key). It reports false when key already has an operation.
func (o *operations) start(ctx context.Context, key types.NamespacedName, fn func(ctx context.Context)) bool {
	o.mu.Lock()
	if _, ok := o.running[key]; ok {
		o.mu.Unlock()
		return false
	}
	parent := ctx
	ctx, stop := context.WithCancel(ctx)
	o.running[key] = stop
	o.mu.Unlock()
	go func() {
		defer func() {
			o.mu.Lock()
			delete(o.running, key)
			o.mu.Unlock()
			stop()
			app := &argov1.Application{}
			app.Namespace, app.Name = key.Namespace, key.Name
			select {
			case o.done <- event.TypedGenericEvent[client.Object]{Object: app}:
			case <-parent.Done(): // shutting down
			}
		}()
		select {
		case o.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-o.slots }()
		fn(ctx)
	}()
	return true
}

// runOperation runs a started operation (its state already Running and
// recorded) on app, a copy nobody else touches, then compares again and
// writes the status.
func (r *Reconciler) runOperation(ctx context.Context, app *argov1.Application, t *target, m *manifests, cmp *comparison, d decision) {
	checkpoint := r.checkpointer(ctx, app)
	r.sync(ctx, app, t, m, cmp, d, checkpoint)
	rememberApplied(app)
	_, _, _ = r.refresh(ctx, app, t, fetchOptions{})
	if err := checkpoint(); err != nil {
		log.FromContext(ctx).Info("cannot record the operation's end", "error", err.Error())
	}
}

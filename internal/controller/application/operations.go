package application

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/source"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
)

// DefaultOperationProcessors is how many syncs run at once when
// Reconciler.OperationProcessors is 0 (Argo CD's --operation-processors
// default).
const DefaultOperationProcessors = 10

// operationRetry is how soon an app whose operation found no free
// processor is looked at again if no processor frees meanwhile; when one
// does, the app that waited longest is queued at once, so this is only a
// safety net. Each look compares the app again (dry runs of its new
// objects once their predictions are a minute old): at 30 s, 8,000 apps
// waiting behind 10 processors made 25 dry runs per object.
const operationRetry = 5 * time.Minute

// finalWriteTimeout bounds recording an operation's end, which is done
// even when the operation was cancelled (its app is being deleted: the
// objects it applied must be in status.resources for the finalizer).
const finalWriteTimeout = time.Minute

// errTerminated ends an operation that a user terminated (its app's
// operationState.phase was set to Terminating, as `argocd app terminate-op`
// does): the cause of its context's cancellation.
var errTerminated = errors.New("operation terminated")

// terminatedBy reports whether ctx ended because its operation was
// terminated.
func terminatedBy(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errTerminated)
}

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
	running map[types.NamespacedName]context.CancelCauseFunc
	// waiting are the apps that found every processor busy, oldest
	// first; queued marks them.
	waiting []types.NamespacedName
	queued  map[types.NamespacedName]bool
}

func newOperations(processors int) *operations {
	if processors <= 0 {
		processors = DefaultOperationProcessors
	}
	return &operations{
		slots:   make(chan struct{}, processors),
		done:    make(chan event.TypedGenericEvent[client.Object], 1024),
		running: map[types.NamespacedName]context.CancelCauseFunc{},
		queued:  map[types.NamespacedName]bool{},
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
	o.stop(key, nil)
}

// terminate stops key's operation, if one runs, with errTerminated as the
// cause: a user terminated it.
func (o *operations) terminate(key types.NamespacedName) {
	o.stop(key, errTerminated)
}

func (o *operations) stop(key types.NamespacedName, cause error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if stop, ok := o.running[key]; ok {
		stop(cause)
	}
}

// slot is a reserved processor.
type slot struct {
	o    *operations
	once sync.Once
}

// free gives the processor back and queues the app that waited longest
// for one.
func (s *slot) free() {
	s.once.Do(func() {
		<-s.o.slots
		s.o.wakeNext()
	})
}

// wait notes that key found every processor busy: it is queued again when
// one frees, rather than polled (each look at a waiting app compares it
// again with the cluster).
func (o *operations) wait(key types.NamespacedName) {
	o.mu.Lock()
	if !o.queued[key] {
		o.queued[key] = true
		o.waiting = append(o.waiting, key)
	}
	o.mu.Unlock()
	// A processor freed between the failed reserve and now would have
	// found nobody waiting.
	o.offer()
}

// offer wakes the app that waited longest when a processor is free. Every
// reconcile ends with it: an app woken for a processor may not take it
// (its sync is no longer due, or it was deleted), and the processor must
// then go to the next in line rather than wait for a safety retry (seen
// at 10,000 apps: the last 28 waited minutes with every processor idle).
func (o *operations) offer() {
	if len(o.slots) < cap(o.slots) {
		o.wakeNext()
	}
}

// wakeNext queues the app that waited longest for a processor. When the
// queue of woken apps is full the app stays first in line (the next freed
// processor wakes it), so no wake is lost.
func (o *operations) wakeNext() {
	o.mu.Lock()
	defer o.mu.Unlock()
	// Apps that got a processor meanwhile (their safety retry found one)
	// no longer wait: a wake spent on them would leave the processor idle.
	for len(o.waiting) > 0 && !o.queued[o.waiting[0]] {
		o.waiting = o.waiting[1:]
	}
	if len(o.waiting) == 0 {
		return
	}
	key := o.waiting[0]
	select {
	case o.done <- event.TypedGenericEvent[client.Object]{Object: appRef(key)}:
		o.waiting = o.waiting[1:]
		delete(o.queued, key)
	default:
	}
}

func appRef(key types.NamespacedName) *argov1.Application {
	app := &argov1.Application{}
	app.Namespace, app.Name = key.Namespace, key.Name
	return app
}

// reserve takes a free processor for key, or returns nil when all are
// busy. key no longer waits for one.
func (o *operations) reserve(key types.NamespacedName) *slot {
	select {
	case o.slots <- struct{}{}:
		o.mu.Lock()
		delete(o.queued, key)
		o.mu.Unlock()
		return &slot{o: o}
	default:
		return nil
	}
}

// start runs fn for key on the reserved processor s, with a context that
// ends with ctx, cancel(key) or terminate(key), and frees s when fn
// returns. It reports false (and frees s) when key already has an
// operation.
func (o *operations) start(ctx context.Context, key types.NamespacedName, s *slot, fn func(ctx context.Context)) bool {
	o.mu.Lock()
	if _, ok := o.running[key]; ok {
		o.mu.Unlock()
		s.free()
		return false
	}
	parent := ctx
	ctx, stop := context.WithCancelCause(ctx)
	o.running[key] = stop
	o.mu.Unlock()
	go func() {
		defer func() {
			o.mu.Lock()
			delete(o.running, key)
			o.mu.Unlock()
			stop(nil)
			select {
			case o.done <- event.TypedGenericEvent[client.Object]{Object: appRef(key)}:
			case <-parent.Done(): // shutting down
			}
		}()
		defer s.free()
		fn(ctx)
	}()
	return true
}

// runOperation runs a started operation (its state already Running and
// recorded) on app, a copy nobody else touches, then compares again and
// writes the status.
func (r *Reconciler) runOperation(ctx context.Context, app *argov1.Application, t *target, m *manifests, cmp *comparison, d decision) {
	w := r.statusWriter(app)
	r.sync(ctx, app, t, m, cmp, d, func() error { return w.write(ctx) })
	rememberApplied(app)
	if ctx.Err() == nil {
		_, _, _ = r.refresh(ctx, app, t, fetchOptions{})
	}
	// The end is recorded even when ctx ended (a deletion cancelled the
	// sync), and retried: an end not recorded leaves the operation
	// Running, and it would run again.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	err := wait.ExponentialBackoffWithContext(wctx, wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Steps: 6},
		func(ctx context.Context) (bool, error) {
			err := w.write(ctx)
			switch {
			case errors.Is(err, lifecycle.ErrStatusChanged):
				// Another replica took the operation over: it records it.
				log.FromContext(ctx).Info("the operation's state was written by another replica; leaving it to that one")
				return true, nil
			case err != nil:
				log.FromContext(ctx).Info("cannot record the operation's end yet", "error", err.Error())
				return false, nil
			}
			return true, nil
		})
	if err != nil {
		log.FromContext(ctx).Error(err, "the operation's end was not recorded; it will be resumed")
	}
}

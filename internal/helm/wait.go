package helm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"helm.sh/helm/v4/pkg/kube"
)

// Observer lets a release's wait read its objects from memory and hear
// when they change, instead of Helm's status watcher, which lists and
// watches every object of the waited kinds in the release's namespace for
// each action: with a thousand releases in one namespace each install
// read all the others (the work grew with the square of the releases).
type Observer struct {
	// Reader reads the release's objects (a live cache's reader, which
	// asks the API server for what it does not hold).
	Reader client.Reader
	// Changes subscribes to notices that a watched object changed;
	// stop ends the subscription.
	Changes func() (notices <-chan struct{}, stop func())
	// Poll is how often the objects are read again without a notice (a
	// kind the cache does not hold yet); DefaultObserverPoll when zero.
	Poll time.Duration
}

// DefaultObserverPoll is Observer.Poll's default.
const DefaultObserverPoll = time.Second

// observedClient is Helm's kube client whose status-watcher waits read
// through an Observer. Hooks (WatchUntilReady) and deletions keep Helm's
// own waiter.
type observedClient struct {
	*kube.Client
	observer *Observer
	ctx      context.Context
}

// GetWaiter implements kube.Interface.
func (c *observedClient) GetWaiter(ws kube.WaitStrategy) (kube.Waiter, error) {
	return c.GetWaiterWithOptions(ws)
}

// GetWaiterWithOptions implements kube.InterfaceWaitOptions.
func (c *observedClient) GetWaiterWithOptions(ws kube.WaitStrategy, opts ...kube.WaitOption) (kube.Waiter, error) {
	if ws != kube.StatusWatcherStrategy {
		return c.Client.GetWaiterWithOptions(ws, opts...)
	}
	return &observedWaiter{
		ctx:      c.ctx,
		observer: c.observer,
		helm: sync.OnceValues(func() (kube.Waiter, error) {
			return c.Client.GetWaiterWithOptions(ws, opts...)
		}),
	}, nil
}

// observedWaiter implements kube.Waiter with an Observer: an object is
// ready when kstatus computes Current for it, as Helm's status watcher
// decides, and the wait fails at once when one is Failed.
type observedWaiter struct {
	ctx      context.Context
	observer *Observer
	// helm is Helm's own waiter, made only when a hook or a deletion is
	// waited for.
	helm func() (kube.Waiter, error)
}

// Wait implements kube.Waiter.
func (w *observedWaiter) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return w.wait(resources, timeout, false)
}

// WaitWithJobs implements kube.Waiter: a Job is ready once complete.
func (w *observedWaiter) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return w.wait(resources, timeout, true)
}

// WaitForDelete implements kube.Waiter with Helm's waiter.
func (w *observedWaiter) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	hw, err := w.helm()
	if err != nil {
		return err
	}
	return hw.WaitForDelete(resources, timeout)
}

// WatchUntilReady implements kube.Waiter (hooks) with Helm's waiter.
func (w *observedWaiter) WatchUntilReady(resources kube.ResourceList, timeout time.Duration) error {
	hw, err := w.helm()
	if err != nil {
		return err
	}
	return hw.WatchUntilReady(resources, timeout)
}

// awaited is one object a wait reads, with what Helm's write returned
// of it: the cache must show at least that generation, so that an
// upgrade is not judged by the object before it.
type awaited struct {
	gvk             schema.GroupVersionKind
	key             client.ObjectKey
	uid             string
	generation      int64
	status, message string
}

func (a *awaited) String() string {
	return fmt.Sprintf("%s/%s/%s", a.gvk.Kind, a.key.Namespace, a.key.Name)
}

// notReady is the error for a as Helm's status watcher words it.
func (a *awaited) notReady() error {
	return fmt.Errorf("resource %s not ready. status: %s, message: %s", a, a.status, a.message)
}

func (w *observedWaiter) wait(resources kube.ResourceList, timeout time.Duration, jobs bool) error {
	if timeout == 0 {
		timeout = kube.DefaultStatusWatcherTimeout
	}
	parent := w.ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var pending []*awaited
	for _, info := range resources {
		if d, ok := kube.AsVersioned(info).(*appsv1.Deployment); ok && d.Spec.Paused {
			continue // as Helm: a paused Deployment never rolls out
		}
		a := &awaited{gvk: info.Mapping.GroupVersionKind, key: client.ObjectKey{Namespace: info.Namespace, Name: info.Name}}
		if m, err := meta.Accessor(info.Object); err == nil {
			a.uid, a.generation = string(m.GetUID()), m.GetGeneration()
		}
		pending = append(pending, a)
	}
	var notices <-chan struct{}
	if w.observer.Changes != nil {
		ch, stop := w.observer.Changes()
		defer stop()
		notices = ch
	}
	poll := w.observer.Poll
	if poll <= 0 {
		poll = DefaultObserverPoll
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		var failed []error
		pending, failed = w.check(ctx, pending, jobs)
		if len(failed) > 0 {
			return errors.Join(failed...)
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			errs := make([]error, 0, len(pending)+1)
			for _, a := range pending {
				errs = append(errs, a.notReady())
			}
			return errors.Join(append(errs, ctx.Err())...)
		case <-notices:
		case <-ticker.C:
		}
	}
}

// check reads every pending object once and returns those still not
// Current, and an error for each Failed one.
func (w *observedWaiter) check(ctx context.Context, pending []*awaited, jobs bool) (rest []*awaited, failed []error) {
	for _, a := range pending {
		a.status, a.message = judge(ctx, w.observer.Reader, a, jobs)
		switch status.Status(a.status) {
		case status.CurrentStatus:
		case status.FailedStatus:
			failed = append(failed, a.notReady())
		default:
			rest = append(rest, a)
		}
	}
	return rest, failed
}

// judge reads a and computes its kstatus.
func judge(ctx context.Context, r client.Reader, a *awaited, jobs bool) (string, string) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(a.gvk)
	if err := r.Get(ctx, a.key, u); err != nil {
		if apierrors.IsNotFound(err) {
			return string(status.NotFoundStatus), "not found"
		}
		return string(status.UnknownStatus), err.Error()
	}
	if a.uid != "" && string(u.GetUID()) != a.uid || u.GetGeneration() < a.generation {
		return string(status.InProgressStatus), "the change is not observed yet"
	}
	var res *status.Result
	var err error
	if jobs && a.gvk.Group == "batch" && a.gvk.Kind == "Job" {
		res, err = jobStatus(u)
	} else {
		res, err = status.Compute(u)
	}
	if err != nil {
		return string(status.UnknownStatus), err.Error()
	}
	return string(res.Status), res.Message
}

// jobStatus is Current only once the Job completed, Failed once it
// failed (kstatus calls a started Job Current), as Helm's wait for jobs.
func jobStatus(u *unstructured.Unstructured) (*status.Result, error) {
	obj, err := status.GetObjectWithConditions(u.Object)
	if err != nil {
		return nil, err
	}
	for _, c := range obj.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case "Complete":
			return &status.Result{Status: status.CurrentStatus, Message: "Job Completed"}, nil
		case "Failed":
			return &status.Result{Status: status.FailedStatus, Message: "Job Failed: " + c.Message}, nil
		}
	}
	return &status.Result{Status: status.InProgressStatus, Message: "Job in progress"}, nil
}

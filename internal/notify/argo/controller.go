package argo

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/notify"
)

// Defaults of the Reconciler.
const (
	// DefaultPollInterval is how often the settings are checked for
	// changes, which re-evaluate every app.
	DefaultPollInterval = 10 * time.Second
	// DefaultResync re-evaluates an app whose subscribed conditions read
	// the clock (time.Now), with nothing else changing.
	DefaultResync = time.Minute
)

// Enqueuer takes notifications for delivery without blocking
// (notify.Dispatcher).
type Enqueuer interface {
	Enqueue(n notify.Notification) bool
}

// EventRecorder records Kubernetes events (the manager's recorder).
type EventRecorder interface {
	Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// Reconciler is Argo CD's notifications controller: on each change of an
// Application (or of its AppProject, or of the settings) it evaluates the
// triggers the app is subscribed to, records what it decided in the app's
// notified annotation and hands the notifications to the dispatcher.
// Reconciling never waits for a delivery.
type Reconciler struct {
	// Client reads Applications and AppProjects from the manager's cache
	// and patches the notified annotation.
	Client client.Client
	// Settings reads argocd-notifications-cm and -secret.
	Settings *Loader
	// Dispatcher delivers.
	Dispatcher Enqueuer
	// Events records delivery failures and missing settings on the
	// Application; may be nil.
	Events EventRecorder
	// Metrics counts deliveries and trigger evaluations; may be nil.
	Metrics *metrics.Notifications
	// Owns, when set, reports whether this replica notifies for an app
	// (--shards); nil notifies for every app.
	Owns func(client.Object) bool
	// Namespace is Argo CD's namespace: its AppProjects, and its
	// Applications.
	Namespace string
	// AppNamespaces are other namespaces (globs) whose Applications are
	// served, as the Application controller's.
	AppNamespaces []string
	// Sources are more watches that enqueue Applications (the shard
	// membership's requeue).
	Sources []source.Source
	// PollInterval is how often settings changes are looked for
	// (DefaultPollInterval when 0).
	PollInterval time.Duration
	// Resync re-evaluates apps whose conditions read the clock
	// (DefaultResync when 0).
	Resync time.Duration
	// Concurrency is how many apps are evaluated at once (2 when 0).
	Concurrency int
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu     sync.Mutex
	warned map[types.NamespacedName]string // the last problems reported per app
}

// SetupWithManager registers the controller "notifications".
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.PollInterval <= 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.Resync <= 0 {
		r.Resync = DefaultResync
	}
	r.warned = map[types.NamespacedName]string{}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Application{}, builder.WithPredicates(predicate.NewPredicateFuncs(r.served))).
		Watches(&argov1.AppProject{}, handler.EnqueueRequestsFromMapFunc(r.appsOfProject),
			builder.WithPredicates(predicate.AnnotationChangedPredicate{})).
		WatchesRawSource(source.Func(r.settingsChanges)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 2)}).
		Named("notifications")
	for _, s := range r.Sources {
		b = b.WatchesRawSource(s)
	}
	return b.Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// served reports whether o's namespace holds Applications Tether serves.
func (r *Reconciler) served(o client.Object) bool {
	ns := o.GetNamespace()
	if ns == r.Namespace {
		return true
	}
	for _, glob := range r.AppNamespaces {
		if ok, _ := path.Match(glob, ns); ok {
			return true
		}
	}
	return false
}

// Reconcile evaluates one app's subscriptions.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &argov1.Application{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.served(app) || (r.Owns != nil && !r.Owns(app)) {
		return ctrl.Result{}, nil
	}
	cfg, err := r.Settings.Get(ctx)
	if err != nil || cfg == nil {
		return ctrl.Result{}, err // no ConfigMap: nothing to do until it appears
	}
	dests, errs := cfg.Destinations(app.Labels, app.Annotations, r.projectAnnotations(ctx, app))
	if len(dests) == 0 {
		r.warn(app, errorStrings(errs))
		return ctrl.Result{}, nil
	}
	obj, err := appObject(app)
	if err != nil {
		return ctrl.Result{}, err
	}
	env := cfg.Env(obj)
	ev := cfg.Evaluate(env, dests, ParseState(app.Annotations[NotifiedAnnotation]), r.now())
	r.record(ctx, cfg, ev)
	r.warn(app, append(errorStrings(errs), ev.Problems...))
	if ev.Changed {
		if err := r.saveState(ctx, app, ev.State); err != nil {
			if apierrors.IsConflict(err) {
				// The app moved since the cache showed it: its new version
				// is evaluated when the cache has it (its event), at the
				// latest in a second.
				return ctrl.Result{RequeueAfter: time.Second}, nil
			}
			return ctrl.Result{}, fmt.Errorf("save the notified state of %s: %w", req.NamespacedName, err)
		}
	}
	for _, s := range ev.Sends {
		r.enqueue(ctx, app, cfg, env, s)
	}
	if readsClock(cfg, dests) {
		return ctrl.Result{RequeueAfter: r.Resync}, nil
	}
	return ctrl.Result{}, nil
}

// appObject is the app as unstructured JSON, as conditions and
// templates see it.
func appObject(app *argov1.Application) (map[string]any, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		return nil, fmt.Errorf("convert %s/%s: %w", app.Namespace, app.Name, err)
	}
	obj["apiVersion"], obj["kind"] = argov1.GroupVersion.String(), "Application"
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
	}
	return obj, nil
}

// projectAnnotations are the annotations of app's AppProject (its
// subscriptions apply to all its apps); none when it is not found.
func (r *Reconciler) projectAnnotations(ctx context.Context, app *argov1.Application) map[string]string {
	name := app.Spec.Project
	if name == "" {
		name = "default"
	}
	var proj argov1.AppProject
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: name}, &proj); err != nil {
		return nil
	}
	return proj.Annotations
}

// record counts and logs the condition results.
func (r *Reconciler) record(ctx context.Context, cfg *Config, ev Evaluation) {
	logger := log.FromContext(ctx)
	for _, res := range ev.Results {
		r.Metrics.TriggerEvaluated(res.Trigger, res.Triggered)
		if res.Err != nil {
			logger.V(1).Info("trigger condition not evaluated", "trigger", res.Trigger, "error", cfg.Masks.String(res.Err.Error()))
		}
	}
}

// saveState writes the app's notified annotation, guarded by the
// resourceVersion it was computed from: of two replicas or reconciles
// that decide the same notification, only one records it, and only that
// one sends it.
func (r *Reconciler) saveState(ctx context.Context, app *argov1.Application, s State) error {
	var value any
	if v := s.Encode(); v != "" {
		value = v
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": app.ResourceVersion,
		"annotations":     map[string]any{NotifiedAnnotation: value},
	}})
	if err != nil {
		return err
	}
	return r.Client.Patch(ctx, app, client.RawPatch(types.MergePatchType, patch))
}

// enqueue hands one notification to the dispatcher; rendering and
// delivery happen there.
func (r *Reconciler) enqueue(ctx context.Context, app *argov1.Application, cfg *Config, env map[string]any, s Send) {
	logger := log.FromContext(ctx).WithValues("trigger", s.Trigger, "service", s.To.Service, "recipient", s.To.Recipient)
	svc := cfg.Services[s.To.Service]
	n := notify.Notification{
		Destination: "argocd/" + s.To.Service + "/" + s.To.Recipient,
		Key:         string(app.UID) + "/" + s.Key,
		Labels:      map[string]string{"trigger": s.Trigger, "service": s.To.Service},
		Send: func(ctx context.Context) error {
			m, err := cfg.Message(env, s)
			if err != nil {
				return notify.Permanent(err)
			}
			return svc.Send(ctx, m, s.To)
		},
		Done: func(err error) {
			r.Metrics.Delivered(s.Trigger, s.To.Service, err == nil)
			if err == nil {
				logger.V(1).Info("notification sent")
				return
			}
			msg := cfg.Masks.String(err.Error())
			logger.Info("notification not delivered", "error", msg)
			if r.Events != nil {
				r.Events.Eventf(app, nil, corev1.EventTypeWarning, "NotificationFailed", "Notify",
					"notification of trigger %s to %s not delivered: %s", s.Trigger, s.To, msg)
			}
		},
	}
	if r.Dispatcher.Enqueue(n) {
		logger.V(1).Info("notification queued")
	}
}

// warn records a Warning event when the settings an app needs change
// from what was last reported (nothing is reported twice in a row).
func (r *Reconciler) warn(app *argov1.Application, problems []string) {
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	msg := strings.Join(problems, "; ")
	r.mu.Lock()
	last := r.warned[key]
	if msg == "" {
		delete(r.warned, key)
	} else {
		r.warned[key] = msg
	}
	r.mu.Unlock()
	if msg != "" && msg != last && r.Events != nil {
		r.Events.Eventf(app, nil, corev1.EventTypeWarning, "NotificationMisconfigured", "Notify",
			"subscriptions wait for argocd-notifications-cm: %s", msg)
	}
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	delete(r.warned, key)
	r.mu.Unlock()
}

func errorStrings(errs []error) []string {
	out := make([]string, 0, len(errs))
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}

// readsClock reports whether a subscribed condition calls time.Now, and
// so may change with nothing else changing.
func readsClock(cfg *Config, dests Destinations) bool {
	for t := range dests {
		for _, c := range cfg.Triggers[t] {
			if strings.Contains(c.When, "time.Now") {
				return true
			}
		}
	}
	return false
}

// appsOfProject maps a changed AppProject to its apps.
func (r *Reconciler) appsOfProject(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != r.Namespace {
		return nil
	}
	return r.apps(ctx, func(a *argov1.Application) bool {
		return a.Spec.Project == o.GetName() || (a.Spec.Project == "" && o.GetName() == "default")
	})
}

// apps lists the served apps the cache holds that keep says to.
func (r *Reconciler) apps(ctx context.Context, keep func(*argov1.Application) bool) []reconcile.Request {
	var list argov1.ApplicationList
	if err := r.Client.List(ctx, &list); err != nil {
		log.FromContext(ctx).Info("cannot list Applications", "error", err.Error())
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		a := &list.Items[i]
		if r.served(a) && keep(a) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: a.Namespace, Name: a.Name}})
		}
	}
	return out
}

// settingsChanges is a source that, each time the settings change,
// enqueues every app: a new subscription, trigger or service applies at
// once, not at each app's next change.
func (r *Reconciler) settingsChanges(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	go func() {
		_, _ = r.Settings.Get(ctx)
		last := r.Settings.Version()
		tick := time.NewTicker(r.PollInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := r.Settings.Get(ctx); err != nil {
				continue // read again at the next tick
			}
			v := r.Settings.Version()
			changed := v != last && v != ""
			last = v
			if !changed {
				continue
			}
			for _, req := range r.apps(ctx, func(*argov1.Application) bool { return true }) {
				q.Add(req)
			}
		}
	}()
	return nil
}

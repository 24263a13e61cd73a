package flux

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// Enqueuer takes notifications without blocking; *notify.Dispatcher is
// one.
type Enqueuer interface {
	Enqueue(notify.Notification) bool
}

// Options configure a Router.
type Options struct {
	// Dispatcher delivers the notifications.
	Dispatcher Enqueuer
	// Tenancy's NoCrossNamespaceRefs keeps Alerts to the events of their
	// own namespace, as Flux's --no-cross-namespace-refs does.
	Tenancy tenancy.Policy
	// RateLimit drops an event equal to one routed within it (same
	// object, severity, reason, message and revision), as Flux's
	// notification-controller does; 0 means 5 minutes, negative none.
	RateLimit time.Duration
	// QueueSize bounds the events waiting to be routed (default 1024);
	// past it, events are dropped and logged.
	QueueSize int
	// Log receives one line per dropped event and failed delivery, never
	// a secret; discarded when unset.
	Log logr.Logger
}

// DefaultRateLimit is Flux's --rate-limit-interval default.
const DefaultRateLimit = 5 * time.Minute

// alertNamespaceIndex indexes Alerts by the namespaces whose events they
// may select.
const alertNamespaceIndex = "tether.eventNamespaces"

// Router matches Flux events to Alerts and enqueues one notification per
// Alert on its Provider's queue. Create it with NewRouter and add it to
// the manager; Route never blocks.
type Router struct {
	cache   client.Reader // Alerts and Providers, from the manager's cache
	secrets client.Reader // Secrets, read from the API server when sent
	events  lifecycle.EventRecorder
	opts    Options
	now     func() time.Time
	queue   chan Event

	mu   sync.Mutex
	seen map[string]time.Time // event key -> when routed
}

// NewRouter returns a Router reading Alerts and Providers through mgr's
// cache (the Alerts indexed by the namespaces they watch) and Secrets
// through its API reader, and recording delivery failures as Warning
// events on the Alerts. Call it before the manager starts.
func NewRouter(mgr ctrl.Manager, opts Options) (*Router, error) {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &notificationv1.Alert{}, alertNamespaceIndex,
		func(o client.Object) []string { return eventNamespaces(o.(*notificationv1.Alert)) })
	if err != nil {
		return nil, fmt.Errorf("index Alerts by event namespace: %w", err)
	}
	return newRouter(mgr.GetClient(), mgr.GetAPIReader(), lifecycle.Bounded(mgr.GetEventRecorder("tether-notification-controller")), opts), nil
}

func newRouter(cache, secrets client.Reader, events lifecycle.EventRecorder, opts Options) *Router {
	switch {
	case opts.RateLimit == 0:
		opts.RateLimit = DefaultRateLimit
	case opts.RateLimit < 0:
		opts.RateLimit = 0
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	return &Router{cache: cache, secrets: secrets, events: events, opts: opts, now: time.Now,
		queue: make(chan Event, opts.QueueSize), seen: map[string]time.Time{}}
}

// Route queues ev for routing and returns at once; an event equal to one
// routed within the rate limit, or one that finds the queue full, is
// dropped.
func (r *Router) Route(ev Event) {
	if !r.admit(ev.Key()) {
		return
	}
	select {
	case r.queue <- ev:
	default:
		r.opts.Log.Info("notification queue full, event dropped", "object", objectRef(&ev), "reason", ev.Reason)
	}
}

// admit records key and reports whether it was not seen within the rate
// limit.
func (r *Router) admit(key string) bool {
	if r.opts.RateLimit == 0 {
		return true
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.seen[key]; ok && now.Sub(at) < r.opts.RateLimit {
		return false
	}
	if len(r.seen) >= 4096 {
		for k, at := range r.seen {
			if now.Sub(at) >= r.opts.RateLimit {
				delete(r.seen, k)
			}
		}
	}
	r.seen[key] = now
	return true
}

// Start routes queued events until ctx ends.
func (r *Router) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-r.queue:
			r.route(ctx, &ev)
		}
	}
}

// NeedLeaderElection is true: only the replica that reconciles notifies.
func (r *Router) NeedLeaderElection() bool { return true }

// route sends ev to every Alert that selects it.
func (r *Router) route(ctx context.Context, ev *Event) {
	var alerts notificationv1.AlertList
	if err := r.cache.List(ctx, &alerts, client.MatchingFields{alertNamespaceIndex: ev.InvolvedObject.Namespace}); err != nil {
		r.opts.Log.Error(err, "list Alerts", "namespace", ev.InvolvedObject.Namespace)
		return
	}
	for i := range alerts.Items {
		alert := &alerts.Items[i]
		ok, findings := admit(alert, ev, r.opts.Tenancy)
		for _, f := range findings {
			r.warn(alert, f.reason, "%s", f.message)
		}
		if ok {
			r.dispatch(ctx, alert, ev)
		}
	}
}

// finding is a problem with an Alert, reported as a Warning event on it.
type finding struct{ reason, message string }

// admit decides whether alert forwards ev: not suspended, its sources and
// severity select the event, its message filters let it through, and
// tenancy allows an Alert of another namespace. Invalid filter
// expressions and refused cross-namespace events are findings.
func admit(alert *notificationv1.Alert, ev *Event, policy tenancy.Policy) (bool, []finding) {
	if alert.Spec.Suspend || !selects(alert, ev) {
		return false, nil
	}
	var findings []finding
	allowed, invalid := messageAllowed(alert, ev.Message)
	for _, expr := range invalid {
		findings = append(findings, finding{notificationv1.InvalidConfigReason,
			fmt.Sprintf("invalid regular expression in inclusionList or exclusionList: %q", expr)})
	}
	if !allowed {
		return false, findings
	}
	if alert.Namespace != ev.InvolvedObject.Namespace && policy.NoCrossNamespaceRefs {
		return false, append(findings, finding{tenancy.AccessDeniedReason,
			fmt.Sprintf("can't process event from '%s', cross-namespace references have been blocked", objectRef(ev))})
	}
	return true, findings
}

// dispatch enqueues ev, with alert's metadata, on the queue of alert's
// Provider.
func (r *Router) dispatch(ctx context.Context, alert *notificationv1.Alert, ev *Event) {
	var provider notificationv1.Provider
	key := types.NamespacedName{Namespace: alert.Namespace, Name: alert.Spec.ProviderRef.Name}
	if err := r.cache.Get(ctx, key, &provider); err != nil {
		if apierrors.IsNotFound(err) {
			r.warn(alert, notificationv1.NotificationDispatchFailedReason, "failed to dispatch notification for %s: Provider %s not found", objectRef(ev), key)
		} else {
			r.opts.Log.Error(err, "read Provider", "provider", key.String())
		}
		return
	}
	if provider.Spec.Suspend {
		return
	}
	if !Supported(provider.Spec.Type) {
		r.warn(alert, notificationv1.NotificationDispatchFailedReason, "failed to dispatch notification for %s: Provider %s has type %q, which Tether does not deliver to", objectRef(ev), key, provider.Spec.Type)
		return
	}
	n := *ev
	n.Metadata = notificationMetadata(alert, ev)
	ref := alertRef{Namespace: alert.Namespace, Name: alert.Name, UID: alert.UID}
	r.opts.Dispatcher.Enqueue(notify.Notification{
		Destination: "Provider/" + key.String(),
		Key:         ref.String() + "/" + ev.Key(),
		Send:        func(ctx context.Context) error { return r.send(ctx, &provider, &n) },
		Labels:      map[string]string{"dialect": "flux", "alert": ref.String(), "provider": key.String(), "type": provider.Spec.Type},
		Done:        func(err error) { r.report(ref, key, &n, err) },
	})
}

// send makes one delivery attempt: the Provider's Secrets are read now,
// so a retry uses a fixed Secret. The error holds no Secret value.
func (r *Router) send(ctx context.Context, p *notificationv1.Provider, ev *Event) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout(p))
	defer cancel()
	t, err := resolve(ctx, r.secrets, p)
	if err != nil {
		return err
	}
	defer t.client.CloseIdleConnections()
	return t.deliver(ctx, ev)
}

// report logs a delivery's outcome and records a failure as a Warning
// event on the Alert.
func (r *Router) report(alert alertRef, provider types.NamespacedName, ev *Event, err error) {
	log := r.opts.Log.WithValues("alert", alert.String(), "provider", provider.String(), "object", objectRef(ev))
	if err == nil {
		log.V(1).Info("notification sent", "reason", ev.Reason)
		return
	}
	log.Info("notification failed", "error", err.Error())
	obj := &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: alert.Namespace, Name: alert.Name, UID: alert.UID}}
	r.events.Eventf(obj, nil, corev1.EventTypeWarning, notificationv1.NotificationDispatchFailedReason, "Notify",
		"failed to send notification for %s: %s", objectRef(ev), err.Error())
}

// warn records a Warning event on alert and logs it.
func (r *Router) warn(alert *notificationv1.Alert, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.opts.Log.Info(msg, "alert", alert.Namespace+"/"+alert.Name, "reason", reason)
	obj := &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: alert.Namespace, Name: alert.Name, UID: alert.UID}}
	r.events.Eventf(obj, nil, corev1.EventTypeWarning, reason, "Notify", "%s", msg)
}

// alertRef names an Alert after its object is gone from memory.
type alertRef struct {
	Namespace, Name string
	UID             types.UID
}

func (a alertRef) String() string { return a.Namespace + "/" + a.Name }

// objectRef is "Kind/namespace/name" of an event's object.
func objectRef(ev *Event) string {
	return strings.Join([]string{ev.InvolvedObject.Kind, ev.InvolvedObject.Namespace, ev.InvolvedObject.Name}, "/")
}

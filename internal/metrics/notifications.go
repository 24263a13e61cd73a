package metrics

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Notifications counts Argo CD notifications under the names of Argo
// CD's notifications controller: argocd_notifications_deliveries_total
// and argocd_notifications_trigger_eval_total. A nil *Notifications
// counts nothing.
type Notifications struct {
	deliveries *prometheus.CounterVec
	evals      *prometheus.CounterVec
}

// NewNotifications returns the counters; Register publishes them.
func NewNotifications() *Notifications {
	return &Notifications{
		// The service's name is both `notifier` (Argo CD's documented
		// label until 2.x dashboards) and `service` (the label of
		// today's notifications engine), so that both kinds of
		// dashboards and alert rules find it.
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argocd_notifications_deliveries_total",
			Help: "Number of delivered notifications, by trigger, service and outcome."},
			[]string{"trigger", "notifier", "service", "succeeded"}),
		evals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argocd_notifications_trigger_eval_total",
			Help: "Number of trigger evaluations, by trigger and result."},
			[]string{"name", "triggered"}),
	}
}

// Register publishes n's counters on reg. When another Notifications of
// the same process published them first, n counts on those.
func (n *Notifications) Register(reg prometheus.Registerer) error {
	for _, c := range []**prometheus.CounterVec{&n.deliveries, &n.evals} {
		if err := reg.Register(*c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				return err
			}
			if existing, ok := dup.ExistingCollector.(*prometheus.CounterVec); ok {
				*c = existing
			}
		}
	}
	return nil
}

// Delivered counts one notification of trigger to service that was sent
// or that failed after its retries.
func (n *Notifications) Delivered(trigger, service string, succeeded bool) {
	if n == nil {
		return
	}
	n.deliveries.WithLabelValues(trigger, service, service, strconv.FormatBool(succeeded)).Inc()
}

// TriggerEvaluated counts one evaluation of a condition of trigger.
func (n *Notifications) TriggerEvaluated(trigger string, triggered bool) {
	if n == nil {
		return
	}
	n.evals.WithLabelValues(trigger, strconv.FormatBool(triggered)).Inc()
}

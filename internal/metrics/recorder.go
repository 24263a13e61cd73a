package metrics

import (
	"errors"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Recorder counts what happens, under Argo CD's and Flux's metric names.
// A nil *Recorder records nothing, so controllers may hold one optionally.
type Recorder struct {
	appSync      *prometheus.CounterVec
	appReconcile *prometheus.HistogramVec
	fluxDuration *prometheus.HistogramVec
	gitRequests  *prometheus.CounterVec
	k8sRequests  *prometheus.CounterVec
}

// NewRecorder returns a Recorder; Register publishes it.
func NewRecorder() *Recorder {
	return &Recorder{
		appSync: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argocd_app_sync_total",
			Help: "Counter for application sync history: syncs that ended, by phase."},
			[]string{"namespace", "name", "project", "dest_server", "phase"}),
		appReconcile: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "argocd_app_reconcile",
			Help:    "Application reconciliation performance in seconds.",
			Buckets: []float64{0.25, 0.5, 1, 2, 4, 8, 16}},
			[]string{"namespace", "dest_server"}),
		fluxDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gotk_reconcile_duration_seconds",
			Help:    "The duration in seconds of a Flux object's reconciliation.",
			Buckets: prometheus.ExponentialBuckets(10e-3, 10, 5)},
			[]string{"kind", "name", "namespace"}),
		gitRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argocd_git_request_total",
			Help: "Number of Git requests, by repository and type (ls-remote, fetch)."},
			[]string{"repo", "request_type"}),
		k8sRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argocd_app_k8s_request_total",
			Help: "Number of Kubernetes requests made for an Application, by verb, resource, response code and dry run."},
			[]string{"server", "verb", "resource_kind", "response_code", "name", "namespace", "project", "dry_run"}),
	}
}

// Register publishes r's metrics on reg. Metrics another Recorder of the
// same process published first (tests running several) stay published.
func (r *Recorder) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{r.appSync, r.appReconcile, r.fluxDuration, r.gitRequests, r.k8sRequests} {
		if err := reg.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				return err
			}
		}
	}
	return nil
}

// AppSynced counts an ended sync of app in phase (Succeeded, Failed,
// Error).
func (r *Recorder) AppSynced(app *argov1.Application, phase argov1.OperationPhase) {
	if r == nil {
		return
	}
	r.appSync.WithLabelValues(app.Namespace, app.Name, app.Spec.Project, app.Spec.Destination.Server, string(phase)).Inc()
}

// AppReconciled observes one reconcile of app that took d.
func (r *Recorder) AppReconciled(app *argov1.Application, d time.Duration) {
	if r == nil {
		return
	}
	r.appReconcile.WithLabelValues(app.Namespace, app.Spec.Destination.Server).Observe(d.Seconds())
}

// FluxReconciled observes one reconcile of a Flux object that took d.
func (r *Recorder) FluxReconciled(kind, namespace, name string, d time.Duration) {
	if r == nil {
		return
	}
	r.fluxDuration.WithLabelValues(kind, name, namespace).Observe(d.Seconds())
}

// GitRequest counts one request to a Git remote: requestType is
// "ls-remote" or "fetch".
func (r *Recorder) GitRequest(repo, requestType string) {
	if r == nil {
		return
	}
	r.gitRequests.WithLabelValues(withoutUserinfo(repo), requestType).Inc()
}

// withoutUserinfo drops credentials written into a URL
// (https://user:token@host/...): they are never a label.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

package run

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tether-gitops/tether/internal/render"
)

// registerRenderMetrics publishes the renderer's counters on the metrics
// endpoint: how many builds ran, how many calls the result cache answered,
// and how many renders of a new revision reused the last build because
// nothing it had read changed.
func registerRenderMetrics(r *render.Renderer) error {
	counters := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tether_render_builds_total",
			Help: "Renders that ran a build (Kustomize or a directory read)."},
			func() float64 { n, _ := r.Stats(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tether_render_cache_hits_total",
			Help: "Renders answered from the result cache (same source content and options)."},
			func() float64 { _, n := r.Stats(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tether_render_reused_total",
			Help: "Renders of a new revision that reused the last build with the same options: every file it read was unchanged."},
			func() float64 { return float64(r.Reused()) }),
	}
	for _, c := range counters {
		if err := metrics.Registry.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				return err
			}
			// Another Run in this process (tests): its renderer's
			// counters stay published.
		}
	}
	return nil
}

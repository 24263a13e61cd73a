package run

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	tmetrics "github.com/tether-gitops/tether/internal/metrics"
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

// registerStateMetrics publishes Argo CD's and Flux's metrics: the state
// of every Application, cluster and Flux object, read from the manager's
// cache at each scrape, and recorder's counters.
func registerStateMetrics(mgr ctrl.Manager, opts *Options, recorder *tmetrics.Recorder) error {
	reader := mgr.GetClient()
	collector := &tmetrics.Collector{
		Reader:          reader,
		InClusterName:   "in-cluster",
		InClusterServer: "https://kubernetes.default.svc",
		ClusterSecrets: func(ctx context.Context) (map[string]string, error) {
			// Around the cache: a cached Secret list would watch every
			// Secret of the cluster.
			var secrets corev1.SecretList
			if err := mgr.GetAPIReader().List(ctx, &secrets, client.InNamespace(opts.ArgoCDNamespace),
				client.MatchingLabels{argov1.LabelKeySecretType: argov1.SecretTypeCluster}); err != nil {
				return nil, err
			}
			out := map[string]string{}
			for _, s := range secrets.Items {
				if server := string(s.Data["server"]); server != "" {
					out[server] = string(s.Data["name"])
				}
			}
			return out, nil
		},
	}
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	inCluster := &serverVersion{ask: func(ctx context.Context) ([]byte, error) {
		return clientset.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	}}
	collector.ClusterVersion = func(ctx context.Context, server string) string {
		if server != collector.InClusterServer {
			return "" // remote clusters: not asked at scrape time
		}
		return inCluster.get(ctx)
	}
	if err := metrics.Registry.Register(collector); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if !errors.As(err, &dup) {
			return err
		}
	}
	return recorder.Register(metrics.Registry)
}

// versionTTL is how long a cluster's version is remembered for the
// metrics: a scrape every few seconds must not ask the API server each
// time.
const versionTTL = 10 * time.Minute

// serverVersion remembers a cluster's Kubernetes version for versionTTL.
type serverVersion struct {
	ask func(ctx context.Context) ([]byte, error)

	mu      sync.Mutex
	version string
	at      time.Time
}

// get returns the remembered version, asking again when it is older than
// versionTTL; the last known one (or "") when asking fails.
func (v *serverVersion) get(ctx context.Context) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.version != "" && time.Since(v.at) < versionTTL {
		return v.version
	}
	raw, err := v.ask(ctx)
	if err != nil {
		return v.version
	}
	var info version.Info
	if json.Unmarshal(raw, &info) == nil && info.GitVersion != "" {
		v.version, v.at = info.GitVersion, time.Now()
	}
	return v.version
}

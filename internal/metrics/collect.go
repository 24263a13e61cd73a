package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// scrapeTimeout bounds one scrape's reads of the cache.
const scrapeTimeout = 10 * time.Second

var (
	appInfo = prometheus.NewDesc("argocd_app_info",
		"Information about Applications: their sync and health status (1 for each app).",
		[]string{"namespace", "name", "project", "autosync_enabled", "repo", "dest_server", "dest_namespace", "sync_status", "health_status", "operation"}, nil)
	clusterInfo = prometheus.NewDesc("argocd_cluster_info",
		"Information about the clusters Applications deploy to (1 for each).",
		[]string{"server", "name", "k8s_version"}, nil)
	reconcileCondition = prometheus.NewDesc("gotk_reconcile_condition",
		"The Ready condition of a Flux object: 1 for its status, 0 for the others.",
		[]string{"kind", "name", "namespace", "type", "status"}, nil)
	suspendStatus = prometheus.NewDesc("gotk_suspend_status",
		"Whether a Flux object is suspended (1) or not (0).",
		[]string{"kind", "name", "namespace"}, nil)
	resourceInfo = prometheus.NewDesc("gotk_resource_info",
		"Information about a Flux object: its kind, readiness and suspension (1 for each object).",
		[]string{"customresource_group", "customresource_version", "customresource_kind", "exported_namespace", "name", "ready", "suspended"}, nil)
)

// Collector computes the state metrics from a cache-backed reader at each
// scrape. It implements prometheus.Collector.
type Collector struct {
	// Reader lists the objects, usually the manager's cached client.
	Reader client.Reader
	// InCluster is the name and URL Applications use for the cluster
	// Tether runs in.
	InClusterName, InClusterServer string
	// ClusterSecrets lists the Argo CD cluster Secrets (their names and
	// servers only are read); nil: only the in-cluster one is reported.
	ClusterSecrets func(ctx context.Context) (map[string]string, error)
	// ClusterVersion, when set, gives a cluster's Kubernetes version
	// ("v1.35.4") by its server URL, "" when unknown.
	ClusterVersion func(ctx context.Context, server string) string
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{appInfo, clusterInfo, reconcileCondition, suspendStatus, resourceInfo} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A kind that cannot be listed
// (its CRD missing) is left out.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	c.collectApps(ctx, ch)
	c.collectClusters(ctx, ch)
	for _, k := range fluxKinds {
		list := k.newList()
		if err := c.Reader.List(ctx, list); err != nil {
			continue
		}
		for _, o := range k.items(list) {
			collectFlux(ch, k.gvk.Group, k.gvk.Version, k.gvk.Kind, o)
		}
	}
}

func (c *Collector) collectApps(ctx context.Context, ch chan<- prometheus.Metric) {
	var apps argov1.ApplicationList
	if err := c.Reader.List(ctx, &apps); err != nil {
		return
	}
	for i := range apps.Items {
		a := &apps.Items[i]
		repo := ""
		if srcs := a.Spec.GetSources(); len(srcs) > 0 {
			repo = srcs[0].RepoURL
		}
		server := a.Spec.Destination.Server
		if server == "" && a.Spec.Destination.Name == c.InClusterName {
			server = c.InClusterServer
		}
		operation := ""
		if a.Operation != nil {
			operation = "sync"
		}
		autosync := a.Spec.SyncPolicy != nil && a.Spec.SyncPolicy.Automated != nil
		ch <- prometheus.MustNewConstMetric(appInfo, prometheus.GaugeValue, 1,
			a.Namespace, a.Name, a.Spec.Project, boolLabel(autosync), repo, server, a.Spec.Destination.Namespace,
			string(a.Status.Sync.Status), string(a.Status.Health.Status), operation)
	}
}

func (c *Collector) collectClusters(ctx context.Context, ch chan<- prometheus.Metric) {
	clusters := map[string]string{c.InClusterServer: c.InClusterName}
	if c.ClusterSecrets != nil {
		if more, err := c.ClusterSecrets(ctx); err == nil {
			for server, name := range more {
				clusters[server] = name
			}
		}
	}
	for server, name := range clusters {
		version := ""
		if c.ClusterVersion != nil {
			version = c.ClusterVersion(ctx, server)
		}
		ch <- prometheus.MustNewConstMetric(clusterInfo, prometheus.GaugeValue, 1, server, name, version)
	}
}

// conditioned is a Flux object: conditions and a suspend flag.
type conditioned interface {
	client.Object
	GetConditions() []metav1.Condition
}

func collectFlux(ch chan<- prometheus.Metric, group, version, kind string, o conditioned) {
	status := "Unknown"
	for _, c := range o.GetConditions() {
		if c.Type == "Ready" {
			status = string(c.Status)
		}
	}
	if o.GetDeletionTimestamp() != nil {
		status = "Deleted"
	}
	for _, s := range []string{"True", "False", "Unknown", "Deleted"} {
		v := 0.0
		if s == status {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(reconcileCondition, prometheus.GaugeValue, v, kind, o.GetName(), o.GetNamespace(), "Ready", s)
	}
	suspended := suspendedOf(o)
	ch <- prometheus.MustNewConstMetric(suspendStatus, prometheus.GaugeValue, boolValue(suspended), kind, o.GetName(), o.GetNamespace())
	ch <- prometheus.MustNewConstMetric(resourceInfo, prometheus.GaugeValue, 1,
		group, version, kind, o.GetNamespace(), o.GetName(), status, boolLabel(suspended))
}

func suspendedOf(o conditioned) bool {
	switch v := o.(type) {
	case *kustomizev1.Kustomization:
		return v.Spec.Suspend
	case *helmv2.HelmRelease:
		return v.Spec.Suspend
	case *sourcev1.GitRepository:
		return v.Spec.Suspend
	case *sourcev1.HelmRepository:
		return v.Spec.Suspend
	case *sourcev1.HelmChart:
		return v.Spec.Suspend
	case *sourcev1.OCIRepository:
		return v.Spec.Suspend
	}
	return false
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

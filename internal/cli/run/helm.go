package run

import (
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/helmrelease"
	"github.com/tether-gitops/tether/internal/controller/helmsource"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/livecache"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/source/artifact"
)

// setupHelm registers the HelmRepository, HelmChart and HelmRelease
// controllers. Helm applies with Flux's field manager, so releases move
// between Flux and Tether without conflicts.
func setupHelm(mgr ctrl.Manager, opts *Options, cfg *rest.Config, storage *artifact.Storage, renderer *render.Renderer, hc *helm.Client, live *livecache.Cache, recorder *metrics.Recorder, events func(string) lifecycle.EventRecorder) (*helmrelease.Reconciler, error) {
	helm.UseFieldManager(helmrelease.FieldManager)
	repos := &helmsource.RepositoryReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Helm:              hc,
		Storage:           storage,
		Shard:             opts.shard,
		Events:            events("tether-source-controller"),
		ArtifactRetention: opts.ArtifactRetention,
		Concurrency:       opts.Concurrency,
		Metrics:           recorder,
	}
	if err := repos.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	charts := &helmsource.ChartReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Helm:              hc,
		Storage:           storage,
		Shard:             opts.shard,
		Events:            events("tether-source-controller"),
		ArtifactRetention: opts.ArtifactRetention,
		Concurrency:       opts.Concurrency,
		Metrics:           recorder,
	}
	if err := charts.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	releases := &helmrelease.Reconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Config:      cfg,
		Storage:     storage,
		Renderer:    renderer,
		Events:      events("tether-helm-controller"),
		Concurrency: max(opts.Concurrency, 8),
		Clusters:    opts.clusterOptions(),
		Tenancy:     opts.Tenancy,
		Shard:       opts.shard,
		Live:        live,
		Metrics:     recorder,
	}
	return releases, releases.SetupWithManager(mgr)
}

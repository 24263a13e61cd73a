package run

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/image"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/registry"
)

// setupImages adds Flux's image reflection: the ImageRepository and
// ImagePolicy controllers, sharing the scanned tags in memory. Registry
// URLs go through the same rewrites as every other URL
// ("oci://<registry>/<path>").
func setupImages(mgr ctrl.Manager, opts *Options, rewrite func(string) string, events func(string) lifecycle.EventRecorder) error {
	rec := events("tether-image-reflector-controller")
	repos := &image.RepositoryReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scanner: &registry.Scanner{Rewrite: rewrite},
		Tags: image.NewTags(), Events: rec, Shard: opts.shard}
	if err := repos.SetupWithManager(mgr); err != nil {
		return err
	}
	policies := &image.PolicyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Repositories: repos, Events: rec,
		Tenancy: opts.Tenancy, Shard: opts.shard}
	return policies.SetupWithManager(mgr)
}

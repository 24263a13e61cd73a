package run

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/image"
	"github.com/tether-gitops/tether/internal/controller/imageupdate"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/registry"
	"github.com/tether-gitops/tether/internal/source/git"
)

// setupImages adds Flux's image automation: the ImageRepository and
// ImagePolicy controllers, sharing the scanned tags in memory, and the
// ImageUpdateAutomation controller, which commits and pushes with the
// process's Git fetcher. Registry
// URLs go through the same rewrites as every other URL
// ("oci://<registry>/<path>").
func setupImages(mgr ctrl.Manager, opts *Options, rewrite func(string) string, fetcher *git.Fetcher, events func(string) lifecycle.EventRecorder) error {
	rec := events("tether-image-reflector-controller")
	repos := &image.RepositoryReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scanner: &registry.Scanner{Rewrite: rewrite},
		Tags: image.NewTags(), Events: rec, Shard: opts.shard}
	if err := repos.SetupWithManager(mgr); err != nil {
		return err
	}
	policies := &image.PolicyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Repositories: repos, Events: rec,
		Tenancy: opts.Tenancy, Shard: opts.shard}
	if err := policies.SetupWithManager(mgr); err != nil {
		return err
	}
	automations := &imageupdate.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Fetcher: fetcher,
		Events: events("tether-image-automation-controller"), Tenancy: opts.Tenancy, Shard: opts.shard}
	return automations.SetupWithManager(mgr)
}

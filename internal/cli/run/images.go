package run

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"

	"github.com/tether-gitops/tether/internal/controller/image"
	"github.com/tether-gitops/tether/internal/controller/imageupdate"
	"github.com/tether-gitops/tether/internal/controller/imageupdater"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/registry"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/git"
)

// setupImages adds Flux's image automation: the ImageRepository and
// ImagePolicy controllers, sharing the scanned tags in memory, and the
// ImageUpdateAutomation controller, which commits and pushes with the
// process's Git fetcher. Registry
// URLs go through the same rewrites as every other URL
// ("oci://<registry>/<path>").
func setupImages(mgr ctrl.Manager, opts *Options, rewrite func(string) string, fetcher *git.Fetcher, events func(string) lifecycle.EventRecorder,
	repoAuth func(context.Context, *argov1.Application, string) (*git.Auth, error)) error {
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
	if err := automations.SetupWithManager(mgr); err != nil {
		return err
	}
	// Argo CD Image Updater's annotations on Applications, with the same
	// scanner and policies.
	updater := &imageupdater.Reconciler{Client: mgr.GetClient(), Scanner: repos.Scanner, Fetcher: fetcher, RepoAuth: repoAuth,
		Interval: opts.ImageUpdaterInterval, Events: lifecycle.Bounded(mgr.GetEventRecorder("argocd-image-updater")),
		Owns: func(o client.Object) bool { return opts.shard.Owns(shard.KeyOf("Application", o)) }}
	return updater.SetupWithManager(mgr)
}

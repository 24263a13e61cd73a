package application

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/repowake"
)

// watchRepositories wakes, at once, every app with a source in a Git
// repository whose references just moved.
func (r *Reconciler) watchRepositories(c controller.Controller) error {
	if r.Fetcher == nil {
		return nil
	}
	return repowake.Watch(c, r.Fetcher, func(ctx context.Context, key string) []client.Object {
		var apps argov1.ApplicationList
		if err := r.Client.List(ctx, &apps); err != nil {
			return nil
		}
		var out []client.Object
		for i := range apps.Items {
			app := &apps.Items[i]
			if r.served(app) && r.usesRepo(app, key) {
				out = append(out, app)
			}
		}
		return out
	})
}

// usesRepo reports whether one of app's Git sources is the repository
// key (repowake.Key).
func (r *Reconciler) usesRepo(app *argov1.Application, key string) bool {
	for _, src := range app.Spec.GetSources() {
		if src.RepoURL != "" && src.Chart == "" && repowake.Key(r.Fetcher, src.RepoURL) == key {
			return true
		}
	}
	return false
}

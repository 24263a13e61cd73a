package application

import (
	"context"
	"fmt"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// CheckoutRevision checks out revision ("" or HEAD for the default
// branch) of repoURL as an Application of project would: the same
// repository credentials, URL rewrites, shared cache and resolve TTL. The ApplicationSet
// git generator reads repositories through it. release must be called
// once the files are read.
func (r *Reconciler) CheckoutRevision(ctx context.Context, project, repoURL, revision string) (dir string, release func(), err error) {
	app := &argov1.Application{Spec: argov1.ApplicationSpec{Project: project}}
	auth, err := r.repoAuth(ctx, app, repoURL)
	if err != nil {
		return "", nil, err
	}
	src := argov1.ApplicationSource{RepoURL: repoURL, TargetRevision: revision}
	// Not forced: a set is generated again on every change of its apps,
	// and the fetcher's --git-resolve-ttl spares the remote those asks.
	ref, res, err := r.resolve(ctx, src, auth, false)
	if err != nil {
		return "", nil, fmt.Errorf("resolve revision %q of %s: %w", revision, repoURL, err)
	}
	dir, release, err = r.Fetcher.Checkout(ctx, repoURL, ref, res, auth)
	if err != nil {
		return "", nil, fmt.Errorf("check out %s of %s: %w", res.Commit, repoURL, err)
	}
	return dir, release, nil
}

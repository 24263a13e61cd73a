package cluster

import (
	"context"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/secretset"
)

// Registry looks up Argo CD cluster Secrets like Lookup, from a
// secretset.Set, so that thousands of Applications on registered clusters
// cost no request per refresh to find their cluster while no cluster
// Secret changes. It is safe for concurrent use.
type Registry struct {
	// Secrets are the cluster Secrets (label argocd.argoproj.io/secret-type:
	// cluster in the control-plane namespace).
	Secrets *secretset.Set
	// Options apply to every cluster found.
	Options Options
}

// Lookup finds the cluster a destination names, as Lookup does.
func (g *Registry) Lookup(ctx context.Context, dest argov1.ApplicationDestination) (*Cluster, error) {
	secrets, err := g.Secrets.List(ctx)
	if err != nil {
		return nil, err
	}
	return match(secrets, dest, g.Options)
}

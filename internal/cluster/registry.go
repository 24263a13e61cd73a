package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Registry looks up Argo CD cluster Secrets like Lookup, but lists them
// from the API server only when one was added, changed or removed: it
// compares the names and resource versions a metadata-only cache (Index)
// holds with those of its last listing. Thousands of Applications on
// registered clusters then cost no request per refresh to find their
// cluster. It is safe for concurrent use.
type Registry struct {
	// Reader reads the Secrets with their data, around any cache.
	Reader client.Reader
	// Index lists the cluster Secrets' metadata from a watch-fed cache
	// (limited to Namespace and the cluster label).
	Index client.Reader
	// Namespace holds the cluster Secrets.
	Namespace string
	// Options apply to every cluster found.
	Options Options

	mu      sync.Mutex
	stamp   string // names and resource versions of secrets
	secrets []corev1.Secret
}

// Lookup finds the cluster a destination names, as Lookup does.
func (g *Registry) Lookup(ctx context.Context, dest argov1.ApplicationDestination) (*Cluster, error) {
	secrets, err := g.list(ctx)
	if err != nil {
		return nil, err
	}
	return match(secrets, dest, g.Options)
}

// list returns the cluster Secrets, listed afresh only when the index
// shows a change since the last listing.
func (g *Registry) list(ctx context.Context) ([]corev1.Secret, error) {
	var metas metav1.PartialObjectMetadataList
	metas.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := g.Index.List(ctx, &metas, client.InNamespace(g.Namespace),
		client.MatchingLabels{argov1.LabelKeySecretType: argov1.SecretTypeCluster}); err != nil {
		return nil, fmt.Errorf("list cluster secrets in %s: %w", g.Namespace, err)
	}
	parts := make([]string, 0, len(metas.Items))
	for _, m := range metas.Items {
		parts = append(parts, m.Name+"@"+m.ResourceVersion)
	}
	sort.Strings(parts)
	stamp := strings.Join(parts, ",")
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.secrets != nil && stamp == g.stamp {
		return g.secrets, nil
	}
	secrets, err := listClusterSecrets(ctx, g.Reader, g.Namespace)
	if err != nil {
		return nil, err
	}
	// What was listed is what the index showed only if their versions
	// agree; otherwise the next call lists again.
	listed := make([]string, 0, len(secrets))
	for _, s := range secrets {
		listed = append(listed, s.Name+"@"+s.ResourceVersion)
	}
	sort.Strings(listed)
	g.stamp, g.secrets = strings.Join(listed, ","), secrets
	return secrets, nil
}

package applicationset

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/appset"
)

// sources gives generators the repositories (as project's apps see them)
// and the registered clusters.
type sources struct {
	r       *Reconciler
	project string
}

func (s *sources) Checkout(ctx context.Context, repoURL, revision string) (string, func(), error) {
	return s.r.Repos.CheckoutRevision(ctx, s.project, repoURL, revision)
}

// Clusters lists the cluster Secrets of the control-plane namespace, and
// the local cluster ("in-cluster") unless a Secret registers its address.
func (s *sources) Clusters(ctx context.Context) ([]appset.Cluster, error) {
	var secrets corev1.SecretList
	if err := s.r.Client.List(ctx, &secrets, client.InNamespace(s.r.Namespace),
		client.MatchingLabels{argov1.LabelKeySecretType: argov1.SecretTypeCluster}); err != nil {
		return nil, err
	}
	var out []appset.Cluster
	local := false
	for _, sec := range secrets.Items {
		server := strings.TrimRight(strings.TrimSpace(string(sec.Data["server"])), "/")
		if server == argov1.KubernetesInternalAPIServerAddr {
			local = true
		}
		labels := sec.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		out = append(out, appset.Cluster{Name: string(sec.Data["name"]), Server: server, Project: string(sec.Data["project"]),
			Labels: labels, Annotations: sec.Annotations})
	}
	if !local {
		out = append([]appset.Cluster{{Name: "in-cluster", Server: argov1.KubernetesInternalAPIServerAddr}}, out...)
	}
	return out, nil
}

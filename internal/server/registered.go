package server

import (
	"net/http"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// RBAC resources of registered clusters and repositories.
const (
	resClusters     = "clusters"
	resRepositories = "repositories"
)

// clusterInfo is a registered cluster as the API shows it: what
// identifies it and where it may deploy, never its credentials (the
// Secret's config is not read at all).
type clusterInfo struct {
	Server           string            `json:"server"`
	Name             string            `json:"name"`
	Namespaces       []string          `json:"namespaces,omitempty"`
	ClusterResources bool              `json:"clusterResources,omitempty"`
	Project          string            `json:"project,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	Annotations      map[string]string `json:"annotations,omitempty"`
}

// repositoryInfo is a registered repository as the API shows it: never a
// password, key, token or certificate (CVE-2025-55190).
type repositoryInfo struct {
	Repo     string `json:"repo"`
	Name     string `json:"name,omitempty"`
	Type     string `json:"type,omitempty"`
	Project  string `json:"project,omitempty"`
	Username string `json:"username,omitempty"`
}

// registeredSecrets lists the control-plane namespace's Secrets of an Argo
// CD secret-type.
func (s *Server) registeredSecrets(r *http.Request, typ string) ([]corev1.Secret, error) {
	var list corev1.SecretList
	err := s.deps.APIReader.List(r.Context(), &list, client.InNamespace(s.cfg.Namespace),
		client.MatchingLabels{argov1.LabelKeySecretType: typ})
	return list.Items, err
}

// scopedAllowed checks a cluster or repository as RBAC names it: by its
// URL, or, when it belongs to a project, also by "<project>/<url>".
func scopedAllowed(allow func(object string) bool, project, url string) bool {
	return allow(url) || (project != "" && allow(project+"/"+url))
}

// listClusters is GET /api/v1/clusters: the clusters the caller may read,
// the local one ("in-cluster") included unless a Secret registers it.
func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	secrets, err := s.registeredSecrets(r, argov1.SecretTypeCluster)
	if err != nil {
		s.internalError(w, err, "list cluster Secrets")
		return
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	allow := func(object string) bool { return allows(policy, r, resClusters, actGet, object) }
	items := []clusterInfo{}
	local := false
	for _, sec := range secrets {
		c := clusterInfo{Server: string(sec.Data["server"]), Name: string(sec.Data["name"]), Project: string(sec.Data["project"]),
			ClusterResources: string(sec.Data["clusterResources"]) == "true", Labels: sec.Labels, Annotations: sec.Annotations}
		if ns := strings.TrimSpace(string(sec.Data["namespaces"])); ns != "" {
			c.Namespaces = strings.Split(ns, ",")
		}
		delete(c.Annotations, lastApplied) // CVE-2023-40029: the whole Secret, config included
		local = local || c.Server == argov1.KubernetesInternalAPIServerAddr
		if scopedAllowed(allow, c.Project, c.Server) {
			items = append(items, c)
		}
	}
	if !local && allow(argov1.KubernetesInternalAPIServerAddr) {
		items = append(items, clusterInfo{Server: argov1.KubernetesInternalAPIServerAddr, Name: argov1.InClusterName})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Server < items[j].Server })
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// listRepositories is GET /api/v1/repositories: the repositories the
// caller may read, without any credential.
func (s *Server) listRepositories(w http.ResponseWriter, r *http.Request) {
	secrets, err := s.registeredSecrets(r, argov1.SecretTypeRepository)
	if err != nil {
		s.internalError(w, err, "list repository Secrets")
		return
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	allow := func(object string) bool { return allows(policy, r, resRepositories, actGet, object) }
	items := []repositoryInfo{}
	for _, sec := range secrets {
		repo := repositoryInfo{Repo: string(sec.Data["url"]), Name: string(sec.Data["name"]), Type: string(sec.Data["type"]),
			Project: string(sec.Data["project"]), Username: string(sec.Data["username"])}
		if repo.Type == "" {
			repo.Type = "git"
		}
		if scopedAllowed(allow, repo.Project, repo.Repo) {
			items = append(items, repo)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Repo < items[j].Repo })
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

package project

import (
	"errors"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestPermitsResource(t *testing.T) {
	type gk = argov1.GroupKind
	type item = argov1.ClusterResourceRestrictionItem
	tests := []struct {
		name        string
		spec        argov1.AppProjectSpec
		group, kind string
		objName     string
		namespaced  bool
		rule        string // "" when permitted
	}{
		{"namespaced, no lists", argov1.AppProjectSpec{}, "apps", "Deployment", "web", true, ""},
		{"cluster-scoped, no lists", argov1.AppProjectSpec{}, "", "Namespace", "a", false, "spec.clusterResourceWhitelist is empty"},
		{"empty namespaced whitelist allows none",
			argov1.AppProjectSpec{NamespaceResourceWhitelist: []gk{}, NamespaceResourceBlacklist: []gk{{Group: "apps", Kind: "Deployment"}}},
			"apps", "ReplicaSet", "x", true, "spec.namespaceResourceWhitelist is empty"},
		{"namespaced whitelist",
			argov1.AppProjectSpec{NamespaceResourceWhitelist: []gk{{Group: "apps", Kind: "ReplicaSet"}}},
			"apps", "ReplicaSet", "x", true, ""},
		{"not in namespaced whitelist",
			argov1.AppProjectSpec{NamespaceResourceWhitelist: []gk{{Group: "apps", Kind: "ReplicaSet"}}},
			"apps", "Deployment", "x", true, "not in spec.namespaceResourceWhitelist"},
		{"namespaced blacklist wins",
			argov1.AppProjectSpec{NamespaceResourceWhitelist: []gk{{Group: "*", Kind: "*"}}, NamespaceResourceBlacklist: []gk{{Group: "", Kind: "Secret"}, {Group: "apps", Kind: "*"}}},
			"apps", "Deployment", "x", true, "denied by spec.namespaceResourceBlacklist[1]"},
		{"namespaced blacklist other group",
			argov1.AppProjectSpec{NamespaceResourceBlacklist: []gk{{Group: "", Kind: "Secret"}}},
			"bitnami.com", "Secret", "x", true, ""},
		{"cluster blacklist",
			argov1.AppProjectSpec{ClusterResourceBlacklist: []item{{Group: "", Kind: "Namespace"}}},
			"", "Namespace", "a", false, "spec.clusterResourceWhitelist is empty"},
		{"cluster whitelist and blacklist all",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "*", Kind: "*"}}, ClusterResourceBlacklist: []item{{Group: "*", Kind: "*"}}},
			"", "Namespace", "a", false, "denied by spec.clusterResourceBlacklist[0]"},
		{"cluster blacklist does not touch namespaced",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "*", Kind: "*"}}, ClusterResourceBlacklist: []item{{Group: "*", Kind: "*"}}},
			"apps", "Action", "a", true, ""},
		{"cluster kind glob",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "rbac.authorization.k8s.io", Kind: "Cluster*"}}},
			"rbac.authorization.k8s.io", "ClusterRoleBinding", "a", false, ""},
		{"cluster name glob",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "", Kind: "Namespace", Name: "team1-*"}}},
			"", "Namespace", "team1-web", false, ""},
		{"cluster name glob miss",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "", Kind: "Namespace", Name: "team1-*"}}},
			"", "Namespace", "kube-system", false, "not in spec.clusterResourceWhitelist"},
		{"cluster name blacklist",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "", Kind: "Namespace"}}, ClusterResourceBlacklist: []item{{Group: "", Kind: "Namespace", Name: "kube-*"}}},
			"", "Namespace", "kube-public", false, "denied by spec.clusterResourceBlacklist[0]"},
		{"cluster name blacklist other name",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "", Kind: "Namespace"}}, ClusterResourceBlacklist: []item{{Group: "", Kind: "Namespace", Name: "kube-*"}}},
			"", "Namespace", "apps", false, ""},
		{"core group is not any group",
			argov1.AppProjectSpec{ClusterResourceWhitelist: []item{{Group: "", Kind: "*"}}},
			"rbac.authorization.k8s.io", "ClusterRole", "a", false, "not in spec.clusterResourceWhitelist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Project{Name: "p", Spec: tt.spec}
			err := p.PermitsResource(tt.group, tt.kind, tt.objName, tt.namespaced)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("PermitsResource: %v", err)
				}
				return
			}
			var re *ResourceError
			if !errors.As(err, &re) {
				t.Fatalf("PermitsResource = %v, want a *ResourceError", err)
			}
			if re.Rule != tt.rule || re.Group != tt.group || re.Kind != tt.kind || re.Project != "p" {
				t.Errorf("PermitsResource = %+v, want rule %q", re, tt.rule)
			}
		})
	}
}

func TestPermitsObject(t *testing.T) {
	local := "https://kubernetes.default.svc"
	p := &Project{Name: "team", Spec: argov1.AppProjectSpec{
		Destinations:               []argov1.ApplicationDestination{{Server: local, Namespace: "team-*"}},
		NamespaceResourceBlacklist: []argov1.GroupKind{{Group: "", Kind: "ResourceQuota"}},
	}}
	dest := argov1.ApplicationDestination{Server: local, Namespace: "team-a"}
	tests := []struct {
		name        string
		group, kind string
		namespace   string
		namespaced  bool
		expected    string
	}{
		{"allowed", "apps", "Deployment", "team-b", true, ""},
		{"kind refused first", "", "ResourceQuota", "kube-system", true,
			"resource :ResourceQuota is not permitted in project team (denied by spec.namespaceResourceBlacklist[0])"},
		{"namespace refused", "apps", "Deployment", "kube-system", true,
			"namespace kube-system is not permitted in project 'team' (no entry of spec.destinations allows it)"},
		{"cluster-scoped ignores namespace", "", "Namespace", "", false,
			"resource :Namespace is not permitted in project team (spec.clusterResourceWhitelist is empty)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.PermitsObject(tt.group, tt.kind, "x", tt.namespace, tt.namespaced, dest)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.expected {
				t.Errorf("PermitsObject = %q, want %q", got, tt.expected)
			}
		})
	}
}

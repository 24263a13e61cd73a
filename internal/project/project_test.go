package project

import (
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestPermitsSource(t *testing.T) {
	tests := []struct {
		name     string
		repos    []string
		repo     string
		expected bool
	}{
		{"star", []string{"*"}, "https://github.com/argoproj/test.git", true},
		{"exact", []string{"https://github.com/argoproj/test.git"}, "https://github.com/argoproj/test.git", true},
		{"without .git", []string{"https://github.com/argoproj/test.git"}, "https://github.com/argoproj/test", true},
		{"case", []string{"https://GitHub.com/ArgoProj/Test"}, "https://github.com/argoproj/test.git", true},
		{"spaces", []string{" https://github.com/argoproj/test "}, "https://github.com/argoproj/test", true},
		{"scp form", []string{"git@github.com:argoproj/test.git"}, "ssh://git@github.com/argoproj/test", true},
		{"ssh upper host", []string{"ssh://git@GITHUB.com:argoproj/test"}, "ssh://git@github.com:argoproj/test", true},
		{"glob", []string{"https://github.com/argoproj/*"}, "https://github.com/argoproj/argoproj.git", true},
		{"second entry", []string{"https://github.com/test1/test.git", "https://github.com/test2/test.git"}, "https://github.com/test2/test.git", true},
		{"other repo", []string{"https://github.com/argoproj/test1.git"}, "https://github.com/argoproj/test2.git", false},
		{"other org", []string{"https://github.com/argoproj/*.git"}, "https://github.com/argoproj1/test2.git", false},
		{"prefix only", []string{"https://github.com/argoproj/foo"}, "https://github.com/argoproj/foo1", false},
		{"star stops at slash", []string{"https://gitlab.com/group/*"}, "https://gitlab.com/group/repo/owner", false},
		{"two stars", []string{"https://gitlab.com/group/*/*"}, "https://gitlab.com/group/repo/owner", true},
		{"double star", []string{"https://gitlab.com/group/**"}, "https://gitlab.com/group/sub-group/repo/owner", true},
		{"none", nil, "https://github.com/argoproj/test.git", false},
		// "!" patterns.
		{"deny exact", []string{"!https://github.com/argoproj/test.git"}, "https://github.com/argoproj/test.git", false},
		{"deny glob", []string{"!https://github.com/argoproj/*"}, "https://github.com/argoproj/argoproj.git", false},
		{"deny after allow", []string{"https://github.com/test1/test.git", "!https://github.com/test2/test.git"}, "https://github.com/test2/test.git", false},
		{"deny before star", []string{"!https://github.com/argoproj/*", "*"}, "https://github.com/argoproj/x", false},
		{"deny not matching with star", []string{"!https://github.com/argoproj/*.git", "*"}, "https://github.com/argoproj1/test2.git", true},
		{"deny double star", []string{"!https://gitlab.com/group/**"}, "https://gitlab.com/group/sub-group/repo/owner", false},
		// Argo CD counts a "!" pattern that does not match as a match.
		{"lone deny elsewhere", []string{"!https://github.com/evil/*"}, "https://github.com/good/repo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Project{Name: "p", Spec: argov1.AppProjectSpec{SourceRepos: tt.repos}}
			if got := p.PermitsSource(tt.repo); got != tt.expected {
				t.Errorf("PermitsSource(%q) with %q = %v, want %v", tt.repo, tt.repos, got, tt.expected)
			}
		})
	}
}

func TestPermitsDestination(t *testing.T) {
	type dest = argov1.ApplicationDestination
	const local = "https://kubernetes.default.svc"
	tests := []struct {
		name     string
		allowed  []dest
		d        dest
		expected bool
	}{
		{"exact", []dest{{Server: local, Namespace: "default"}}, dest{Server: local, Namespace: "default"}, true},
		{"other namespace", []dest{{Server: local, Namespace: "default"}}, dest{Server: local, Namespace: "kube-system"}, false},
		{"other server", []dest{{Server: "https://my-cluster", Namespace: "default"}}, dest{Server: local, Namespace: "default"}, false},
		{"any namespace", []dest{{Server: local, Namespace: "*"}}, dest{Server: local, Namespace: "kube-system"}, true},
		{"server glob", []dest{{Server: "https://*.default.svc", Namespace: "default"}}, dest{Server: local, Namespace: "default"}, true},
		{"namespace glob", []dest{{Server: local, Namespace: "test-*"}}, dest{Server: local, Namespace: "test-foo"}, true},
		{"namespace glob miss", []dest{{Server: local, Namespace: "test-*"}}, dest{Server: local, Namespace: "test"}, false},
		{"everything", []dest{{Server: "*", Namespace: "*"}}, dest{Server: local, Namespace: "test"}, true},
		{"by name", []dest{{Name: "test", Namespace: "*"}}, dest{Name: "test", Namespace: "test"}, true},
		{"other name", []dest{{Name: "test2", Namespace: "*"}}, dest{Name: "test", Namespace: "test"}, false},
		{"server or name", []dest{{Server: local, Namespace: "*"}}, dest{Name: "in-cluster", Server: local, Namespace: "a"}, true},
		// "!" patterns.
		{"deny server", []dest{{Server: "!" + local, Namespace: "default"}}, dest{Server: local, Namespace: "default"}, false},
		{"deny other namespace", []dest{{Server: local, Namespace: "!default"}}, dest{Server: local, Namespace: "kube-system"}, true},
		{"deny other server", []dest{{Server: "!https://my-cluster", Namespace: "default"}}, dest{Server: local, Namespace: "default"}, true},
		{"deny namespace glob", []dest{{Server: local, Namespace: "!test-*"}}, dest{Server: local, Namespace: "test-foo"}, false},
		{"deny name", []dest{{Namespace: "*", Name: "!test"}}, dest{Name: "test", Namespace: "test"}, false},
		{"deny wins", []dest{{Server: "*", Namespace: "*"}, {Server: "*", Namespace: "!kube-system"}}, dest{Server: local, Namespace: "kube-system"}, false},
		{"deny wins after allow", []dest{{Server: "*", Namespace: "kube-system"}, {Server: "*", Namespace: "!kube-system"}}, dest{Server: local, Namespace: "kube-system"}, false},
		{"deny pair", []dest{{Server: "*", Namespace: "*"}, {Server: "!" + local, Namespace: "kube-system"}}, dest{Server: local, Namespace: "kube-system"}, false},
		// As in Argo CD, each "!" pattern of an entry refuses on its own:
		// the server "!local" rejects the local server for every namespace,
		// not only for kube-system.
		{"deny pattern stands alone", []dest{{Server: "*", Namespace: "*"}, {Server: "!" + local, Namespace: "kube-system"}}, dest{Server: local, Namespace: "default"}, false},
		{"deny pattern other server", []dest{{Server: "*", Namespace: "*"}, {Server: "!" + local, Namespace: "kube-system"}}, dest{Server: "https://other", Namespace: "kube-system"}, true},
		{"none", nil, dest{Server: local, Namespace: "default"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Project{Name: "p", Spec: argov1.AppProjectSpec{Destinations: tt.allowed}}
			if got := p.PermitsDestination(tt.d); got != tt.expected {
				t.Errorf("PermitsDestination(%+v) with %+v = %v, want %v", tt.d, tt.allowed, got, tt.expected)
			}
		})
	}
}

func TestPermitsDestinationProjectScopedClusters(t *testing.T) {
	type dest = argov1.ApplicationDestination
	tests := []struct {
		name     string
		allowed  dest
		clusters []Cluster
		d        dest
		expected bool
	}{
		{"no scoped clusters", dest{Server: "https://team1-*", Namespace: "default"}, nil, dest{Server: "https://team1-a", Namespace: "default"}, false},
		{"scoped by server", dest{Server: "https://c.example", Namespace: "default"}, []Cluster{{Server: "https://c.example"}}, dest{Server: "https://c.example", Namespace: "default"}, true},
		{"scoped by name", dest{Name: "c", Namespace: "default"}, []Cluster{{Name: "c"}}, dest{Name: "c", Namespace: "default"}, true},
		{"not scoped", dest{Server: "https://c.example", Namespace: "default"}, []Cluster{{Server: "https://c.example"}}, dest{Server: "https://d.example", Namespace: "default"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Project{
				Name:           "p",
				Spec:           argov1.AppProjectSpec{Destinations: []dest{tt.allowed}, PermitOnlyProjectScopedClusters: true},
				ScopedClusters: tt.clusters,
			}
			if got := p.PermitsDestination(tt.d); got != tt.expected {
				t.Errorf("PermitsDestination(%+v) = %v, want %v", tt.d, got, tt.expected)
			}
		})
	}
}

func TestPermitsSourceNamespace(t *testing.T) {
	tests := []struct {
		name      string
		allowed   []string
		namespace string
		expected  bool
	}{
		{"control namespace", nil, "argocd", true},
		{"no namespace yet", nil, "", true},
		{"not listed", nil, "team-a", false},
		{"listed", []string{"team-a"}, "team-a", true},
		{"glob", []string{"team-*"}, "team-a", true},
		{"glob miss", []string{"team-*"}, "other", false},
		{"regexp", []string{"/^team-[a-z]+$/"}, "team-abc", true},
		{"regexp miss", []string{"/^team-[a-z]+$/"}, "team-1", false},
		{"star", []string{"*"}, "anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Project{Name: "p", Spec: argov1.AppProjectSpec{SourceNamespaces: tt.allowed}}
			if got := p.PermitsSourceNamespace(tt.namespace, "argocd"); got != tt.expected {
				t.Errorf("PermitsSourceNamespace(%q) with %q = %v, want %v", tt.namespace, tt.allowed, got, tt.expected)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p.Name != "default" {
		t.Errorf("Name = %q, want default", p.Name)
	}
	if !p.PermitsSource("https://example.com/any/repo.git") || !p.PermitsSource("git@example.com:a/b.git") {
		t.Error("default project refuses a repository")
	}
	d := argov1.ApplicationDestination{Server: "https://elsewhere:6443", Namespace: "kube-system"}
	if !p.PermitsDestination(d) {
		t.Errorf("default project refuses %+v", d)
	}
	for _, tt := range []struct {
		group, kind string
		namespaced  bool
	}{{"", "Namespace", false}, {"rbac.authorization.k8s.io", "ClusterRole", false}, {"apps", "Deployment", true}, {"", "ResourceQuota", true}} {
		if err := p.PermitsResource(tt.group, tt.kind, "x", tt.namespaced); err != nil {
			t.Errorf("default project: %v", err)
		}
	}
	if err := Validate(&argov1.AppProject{Spec: p.Spec}); err != nil {
		t.Errorf("default project is invalid: %v", err)
	}
}

func TestNewCopiesSpec(t *testing.T) {
	ap := &argov1.AppProject{Spec: argov1.AppProjectSpec{SourceRepos: []string{"*"}}}
	ap.Name = "p"
	p := New(ap)
	ap.Spec.SourceRepos[0] = "https://changed"
	if p.Name != "p" || p.Spec.SourceRepos[0] != "*" {
		t.Errorf("New did not copy the AppProject: %+v", p)
	}
}

package rbac

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestAllow(t *testing.T) {
	production := argov1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "production", Namespace: "argocd"},
		Spec: argov1.AppProjectSpec{Roles: []argov1.ProjectRole{{
			Name:     "app-developer",
			Policies: []string{"p, proj:production:app-developer, applications, get, production/*, allow"},
			Groups:   []string{"production-app-developers"},
		}}},
	}
	// A project whose role reaches into another project is invalid and
	// grants nothing.
	sneaky := argov1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "sneaky", Namespace: "argocd"},
		Spec: argov1.AppProjectSpec{Roles: []argov1.ProjectRole{{
			Name:     "r",
			Policies: []string{"p, proj:sneaky:r, applications, *, production/*, allow"},
			Groups:   []string{"sneaks"},
		}}},
	}
	policy, err := Build(Inputs{
		RBAC: map[string]string{
			KeyPolicyCSV: `
p, role:deployer, applications, sync, staging/*, allow
p, role:deployer, applications, get, staging/*, allow
p, role:deployer, applications, sync, staging/frozen, deny
g, alice, role:deployer
g, ops, role:admin
not a policy line
`,
			"policy.extra.csv": "g, carol, role:readonly",
			KeyScopes:          "[groups, email]",
		},
		Projects: []argov1.AppProject{production, sneaky},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(policy.Problems) != 2 || !strings.Contains(strings.Join(policy.Problems, "\n"), "sneaky") {
		t.Errorf("problems = %q, want the bad line and the sneaky project", policy.Problems)
	}
	groups := func(g ...string) map[string]any { return map[string]any{"groups": toAny(g)} }
	tests := []struct {
		name                     string
		sub                      Subject
		resource, action, object string
		want                     bool
	}{
		{"admin syncs anything", Subject{Name: "admin"}, "applications", "sync", "production/guestbook", true},
		{"admin creates clusters", Subject{Name: "admin"}, "clusters", "create", "https://x", true},
		{"readonly user gets", Subject{Name: "carol"}, "applications", "get", "production/guestbook", true},
		{"readonly user cannot sync", Subject{Name: "carol"}, "applications", "sync", "production/guestbook", false},
		{"readonly user cannot delete", Subject{Name: "carol"}, "applications", "delete", "production/guestbook", false},
		{"role grants sync in staging", Subject{Name: "alice"}, "applications", "sync", "staging/web", true},
		{"deny wins over allow", Subject{Name: "alice"}, "applications", "sync", "staging/frozen", false},
		{"role does not reach production", Subject{Name: "alice"}, "applications", "get", "production/web", false},
		{"group via project role gets", Subject{Name: "dev@example.com", Claims: groups("production-app-developers")}, "applications", "get", "production/guestbook", true},
		{"group via project role gets an app in another namespace", Subject{Name: "dev", Claims: groups("production-app-developers")}, "applications", "get", "production/team-a/guestbook", true},
		{"group via project role cannot sync", Subject{Name: "dev", Claims: groups("production-app-developers")}, "applications", "sync", "production/guestbook", false},
		{"group via project role sees no other project", Subject{Name: "dev", Claims: groups("production-app-developers")}, "applications", "get", "default/guestbook", false},
		{"project token gets", Subject{Name: "proj:production:app-developer"}, "applications", "get", "production/guestbook", true},
		{"project token cannot delete", Subject{Name: "proj:production:app-developer"}, "applications", "delete", "production/guestbook", false},
		{"project token reads its project", Subject{Name: "proj:production:app-developer"}, "projects", "get", "production", true},
		{"project token reads no other project", Subject{Name: "proj:production:app-developer"}, "projects", "get", "staging", false},
		{"invalid project grants nothing", Subject{Name: "x", Claims: groups("sneaks")}, "applications", "get", "production/guestbook", false},
		{"group mapped to admin", Subject{Name: "x", Claims: groups("ops")}, "projects", "delete", "production", true},
		{"email scope is a subject", Subject{Name: "x", Claims: map[string]any{"email": "alice"}}, "applications", "sync", "staging/web", true},
		{"anonymous gets nothing", Subject{}, "applications", "get", "production/guestbook", false},
		{"glob does not match a longer project", Subject{Name: "alice"}, "applications", "get", "stagingx/web", false},
		{"admin rotates sealed secrets", Subject{Name: "admin"}, "sealedsecrets", "rotate", "production/db", true},
		{"admin rotates a cluster-wide sealed secret named without a namespace", Subject{Name: "admin"}, "sealedsecrets", "rotate", "/db", true},
		{"readonly user verifies sealed secrets", Subject{Name: "carol"}, "sealedsecrets", "get", "production/db", true},
		{"readonly user cannot rotate sealed secrets", Subject{Name: "carol"}, "sealedsecrets", "rotate", "production/db", false},
		{"a role without the right cannot verify", Subject{Name: "alice"}, "sealedsecrets", "get", "staging/db", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.Allow(tt.sub, tt.resource, tt.action, tt.object); got != tt.want {
				t.Errorf("Allow(%+v, %s, %s, %s) = %v, want %v", tt.sub, tt.resource, tt.action, tt.object, got, tt.want)
			}
		})
	}
}

func TestDefaultRoleAndRegexMode(t *testing.T) {
	policy, err := Build(Inputs{RBAC: map[string]string{
		KeyPolicyDefault: RoleReadonly,
		KeyMatchMode:     "regex",
		KeyPolicyCSV:     `p, bob, applications, sync, team-(a|b)/.*, allow`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !policy.Allow(Subject{Name: "anyone"}, "applications", "get", "p/a") {
		t.Error("policy.default role:readonly does not grant get")
	}
	if policy.Allow(Subject{Name: "anyone"}, "applications", "sync", "p/a") {
		t.Error("policy.default role:readonly grants sync")
	}
	if !policy.Allow(Subject{Name: "bob"}, "applications", "sync", "team-b/web") {
		t.Error("regex policy does not match")
	}
	if policy.Allow(Subject{Name: "bob"}, "applications", "sync", "team-c/web") {
		t.Error("regex policy matches too much")
	}
	if policy.Allow(Subject{Name: "bob"}, "applications", "sync", "xteam-a/web") {
		t.Error("regex policy is not anchored")
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// BenchmarkAllow is one decision of a list: a project token's get on an
// app of another project (denied after trying every subject).
func BenchmarkAllow(b *testing.B) {
	policy, err := Build(Inputs{RBAC: map[string]string{KeyPolicyCSV: "g, carol, role:readonly\n"}, Projects: []argov1.AppProject{{
		ObjectMeta: metav1.ObjectMeta{Name: "team"},
		Spec: argov1.AppProjectSpec{Roles: []argov1.ProjectRole{{Name: "reader",
			Policies: []string{"p, proj:team:reader, applications, get, team/*, allow"}}}},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, sub := range []string{"admin", "proj:team:reader"} {
		b.Run(sub, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				policy.Allow(Subject{Name: sub}, "applications", "get", fmt.Sprintf("default/app-%05d", i%10000))
			}
		})
	}
}

package project

import (
	"strings"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// testProject returns a valid AppProject "my-proj" with one role "my-role".
func testProject() *argov1.AppProject {
	ap := &argov1.AppProject{Spec: argov1.AppProjectSpec{
		Roles:        []argov1.ProjectRole{{Name: "my-role"}},
		Destinations: []argov1.ApplicationDestination{{}},
	}}
	ap.Name = "my-proj"
	return ap
}

func TestValidatePolicies(t *testing.T) {
	tests := []struct {
		policy string
		want   string // "" for a valid policy
	}{
		{"p,proj:my-proj:my-role,applications,get,my-proj/*,allow", ""},
		{"p, proj:my-proj:my-role, applications, get, my-proj/*, allow", ""},
		{"p, proj:my-proj:my-role, applications, get, my-proj/*, deny", ""},
		{"p, proj:my-proj:my-role, applications, get, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, get, my-proj/*-foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, get, my-proj/*.*, allow", ""},
		{"p, proj:my-proj:my-role, applications, get, my-proj/team-ns/web, allow", ""},
		{"p, proj:my-proj:my-role, applications, *, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, create, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, update/*/Pod/*, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, delete/*, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, sync, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, override, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applications, action/apps/Deployment/restart, my-proj/foo, allow", ""},
		{"p, proj:my-proj:my-role, applicationsets, get, my-proj/*, allow", ""},
		{"p, proj:my-proj:my-role, repositories, update, my-proj/*, allow", ""},
		{"p, proj:my-proj:my-role, logs, get, my-proj/*, allow", ""},
		{"p, proj:my-proj:my-role, exec, create, my-proj/*, allow", ""},
		// Form.
		{"g, proj:my-proj:my-role, applications, get, my-proj/*, allow", "must be of the form 'p, proj:my-proj:my-role, <resource>, <action>, my-proj/<object>, allow|deny'"},
		{"p, not, enough, parts", "must be of the form"},
		{"p, has, too, many, parts, to, split", "must be of the form"},
		// Subject.
		{"p, , applications, get, my-proj/*, allow", "policy subject must be 'proj:my-proj:my-role', not ''"},
		{"p, proj:my-proj, applications, get, my-proj/*, allow", "policy subject must be 'proj:my-proj:my-role'"},
		{"p, proj:my-proj:, applications, get, my-proj/*, allow", "policy subject must be 'proj:my-proj:my-role'"},
		{"p, proj:different-my-proj:my-role, applications, get, my-proj/*, allow", "policy subject must be 'proj:my-proj:my-role', not 'proj:different-my-proj:my-role'"},
		// Resource.
		{"p, proj:my-proj:my-role, , get, my-proj/*, allow", "resource must be one of"},
		{"p, proj:my-proj:my-role, applicationz, get, my-proj/*, allow", "not 'applicationz'"},
		{"p, proj:my-proj:my-role, projects, get, my-proj/*, allow", "not 'projects'"},
		// Action.
		{"p, proj:my-proj:my-role, applications, , my-proj/*, allow", "invalid action ''"},
		{"p, proj:my-proj:my-role, applications, foo, my-proj/*, allow", "invalid action 'foo'"},
		// Object.
		{"p, proj:my-proj:my-role, applications, get, my-proj/, allow", "object must be of the form 'my-proj/*'"},
		{"p, proj:my-proj:my-role, applications, get, /, allow", "object must be of the form"},
		{"p, proj:my-proj:my-role, applications, get, different-my-proj/*, allow", "not 'different-my-proj/*'"},
		{"p, proj:my-proj:my-role, applications, get, my-proj/a/b/c, allow", "object must be of the form"},
		{"p, proj:my-proj:my-role, applications, get, my-projX/*, allow", "object must be of the form"},
		// Effect.
		{"p, proj:my-proj:my-role, applications, get, my-proj/*, ", "effect must be 'allow' or 'deny', not ''"},
		{"p, proj:my-proj:my-role, applications, get, my-proj/*, foo", "effect must be 'allow' or 'deny', not 'foo'"},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			ap := testProject()
			ap.Spec.Roles[0].Policies = []string{tt.policy}
			err := Validate(ap)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "spec.roles[0].policies[0]") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error at spec.roles[0].policies[0] containing %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*argov1.AppProject)
		want   []string // parts of the error; none for a valid project
	}{
		{"valid", func(*argov1.AppProject) {}, nil},
		{"deny-all repository", func(ap *argov1.AppProject) { ap.Spec.SourceRepos = []string{"!*"} },
			[]string{`spec.sourceRepos[0]: Invalid value: "!*"`}},
		{"duplicate repository", func(ap *argov1.AppProject) { ap.Spec.SourceRepos = []string{"foo", "foo"} },
			[]string{`spec.sourceRepos[1]: Duplicate value: "foo"`}},
		{"duplicate source namespace", func(ap *argov1.AppProject) { ap.Spec.SourceNamespaces = []string{"argocd", "argocd"} },
			[]string{"spec.sourceNamespaces[1]: Duplicate value"}},
		{"deny-all destination", func(ap *argov1.AppProject) {
			ap.Spec.Destinations = []argov1.ApplicationDestination{{Server: "!*", Namespace: "!*", Name: "!*"}}
		}, []string{"spec.destinations[0].server", "spec.destinations[0].namespace", "spec.destinations[0].name"}},
		{"good destination patterns", func(ap *argov1.AppProject) {
			ap.Spec.Destinations = []argov1.ApplicationDestination{{Server: "*", Namespace: "!kube-system"}, {Name: "in-cluster", Namespace: "*"}}
		}, nil},
		{"duplicate destination", func(ap *argov1.AppProject) {
			d := argov1.ApplicationDestination{Server: "s", Namespace: "ns"}
			ap.Spec.Destinations = []argov1.ApplicationDestination{d, d}
		}, []string{`spec.destinations[1]: Duplicate value: "s/ns"`}},
		{"same namespace on two named clusters", func(ap *argov1.AppProject) {
			ap.Spec.Destinations = []argov1.ApplicationDestination{{Name: "c1", Namespace: "ns"}, {Name: "c2", Namespace: "ns"}}
		}, nil},
		{"destination service accounts", func(ap *argov1.AppProject) {
			sa := argov1.ApplicationDestinationServiceAccount{Server: "!*", Namespace: "ns", DefaultServiceAccount: "sa"}
			ap.Spec.DestinationServiceAccounts = []argov1.ApplicationDestinationServiceAccount{sa, sa}
		}, []string{"spec.destinationServiceAccounts[0].server", "spec.destinationServiceAccounts[1]: Duplicate value"}},
		{"role names", func(ap *argov1.AppProject) {
			ap.Spec.Roles = []argov1.ProjectRole{{Name: "MY-ROLE"}, {Name: "1role1"}, {Name: "my role"}, {Name: "-r"}, {Name: "r-"}, {Name: "my:role"}, {Name: ""}, {Name: "MY-ROLE"}}
		}, []string{"spec.roles[2].name", "spec.roles[3].name", "spec.roles[4].name", "spec.roles[5].name", "spec.roles[6].name", `spec.roles[7].name: Duplicate value: "MY-ROLE"`}},
		{"duplicate policy", func(ap *argov1.AppProject) {
			p := "p, proj:my-proj:my-role, applications, get, my-proj/*, allow"
			ap.Spec.Roles[0].Policies = []string{p, p}
		}, []string{"spec.roles[0].policies[1]: Duplicate value"}},
		{"every policy problem", func(ap *argov1.AppProject) {
			ap.Spec.Roles[0].Policies = []string{"p, proj:other:my-role, projects, fly, other/*, maybe"}
		}, []string{"policy subject must be", "resource must be one of", "invalid action 'fly'", "object must be", "effect must be"}},
		{"group names", func(ap *argov1.AppProject) {
			ap.Spec.Roles[0].Groups = []string{"my:group", `"my, group"`, "my,group", "", " ", "my\ngroup", " my:group", "my:group"}
		}, []string{
			"spec.roles[0].groups[2]: Invalid value: \"my,group\": must be quoted",
			"spec.roles[0].groups[3]: Invalid value: \"\": must not be empty",
			"spec.roles[0].groups[4]",
			"spec.roles[0].groups[5]",
			"spec.roles[0].groups[6]",
			"spec.roles[0].groups[7]: Duplicate value",
		}},
		{"sync windows", func(ap *argov1.AppProject) {
			ap.Spec.SyncWindows = []argov1.SyncWindow{
				{Kind: "allow", Schedule: "0 22 * * *", Duration: "1h", Applications: []string{"*"}},
				{Kind: "block", Schedule: "0 22 * *", Duration: "1 hour", Namespaces: []string{"*"}},
				{Kind: "deny", Schedule: "@daily", Duration: "1h"},
				{Kind: "allow", Schedule: "0 22 * * *", Duration: "1h", Clusters: []string{"*"}},
			}
		}, []string{
			`spec.syncWindows[1].kind: Unsupported value: "block"`,
			`spec.syncWindows[1].schedule: Invalid value: "0 22 * *"`,
			`spec.syncWindows[1].duration: Invalid value: "1 hour"`,
			`spec.syncWindows[2].schedule: Invalid value: "@daily"`,
			"spec.syncWindows[2]: Required value: one of applications, namespaces or clusters is required",
			`spec.syncWindows[3]: Duplicate value: "allow:0 22 * * *:1h"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ap := testProject()
			tt.change(ap)
			err := Validate(ap)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), `AppProject "my-proj" is invalid: `) {
				t.Errorf("Validate = %v, want it to name the project", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

package project

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// loadProduction reads testdata/appproject-production.yaml, a copy of the
// seed example 03-argo-appproject-production.yaml.
func loadProduction(t *testing.T) *argov1.AppProject {
	t.Helper()
	data, err := os.ReadFile("testdata/appproject-production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ap argov1.AppProject
	if err := yaml.UnmarshalStrict(data, &ap); err != nil {
		t.Fatalf("decode testdata/appproject-production.yaml: %v", err)
	}
	return &ap
}

func TestProductionSeed(t *testing.T) {
	ap := loadProduction(t)
	if err := Validate(ap); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	p := New(ap)
	if p.Name != "production" {
		t.Fatalf("Name = %q", p.Name)
	}

	t.Run("sources", func(t *testing.T) {
		for repo, want := range map[string]bool{
			"https://github.com/example/production-apps.git":  true,
			"https://github.com/example/production-apps":      true,
			"https://github.com/Example/Production-Apps.git":  true,
			"https://github.com/example/staging-apps.git":     false,
			"https://github.com/argoproj/argocd-example-apps": false,
		} {
			if got := p.PermitsSource(repo); got != want {
				t.Errorf("PermitsSource(%q) = %v, want %v", repo, got, want)
			}
		}
	})

	t.Run("destinations", func(t *testing.T) {
		for _, tt := range []struct {
			d    argov1.ApplicationDestination
			want bool
		}{
			{argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "production"}, true},
			{argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Name: "in-cluster", Namespace: "production"}, true},
			{argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "default"}, false},
			{argov1.ApplicationDestination{Server: "https://other:6443", Namespace: "production"}, false},
		} {
			if got := p.PermitsDestination(tt.d); got != tt.want {
				t.Errorf("PermitsDestination(%+v) = %v, want %v", tt.d, got, tt.want)
			}
		}
	})

	t.Run("resources", func(t *testing.T) {
		for _, tt := range []struct {
			group, kind string
			namespaced  bool
			want        string
		}{
			{"", "Namespace", false, ""},
			{"rbac.authorization.k8s.io", "ClusterRole", false,
				"resource rbac.authorization.k8s.io:ClusterRole is not permitted in project production (not in spec.clusterResourceWhitelist)"},
			{"", "ResourceQuota", true,
				"resource :ResourceQuota is not permitted in project production (denied by spec.namespaceResourceBlacklist[0])"},
			{"", "ConfigMap", true, ""},
			{"apps", "Deployment", true, ""},
		} {
			err := p.PermitsResource(tt.group, tt.kind, "x", tt.namespaced)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("PermitsResource(%s:%s) = %q, want %q", tt.group, tt.kind, got, tt.want)
			}
		}
	})

	t.Run("malformed policy", func(t *testing.T) {
		bad := ap.DeepCopy()
		bad.Spec.Roles[0].Policies = append(bad.Spec.Roles[0].Policies,
			"p, proj:staging:app-developer, applications, get, staging/*, allow",
			"p, proj:production:app-developer, applications, get, production/*, permit")
		err := Validate(bad)
		var invalid *InvalidError
		if !errors.As(err, &invalid) {
			t.Fatalf("Validate = %v, want an *InvalidError", err)
		}
		if len(invalid.Errors) != 2 {
			t.Fatalf("Validate = %v, want two problems", err)
		}
		var fe *field.Error
		if !errors.As(err, &fe) || fe.Field != "spec.roles[0].policies[1]" {
			t.Errorf("first problem = %v, want one at spec.roles[0].policies[1]", fe)
		}
		for _, want := range []string{
			`AppProject "production" is invalid: spec.roles[0].policies[1]: Invalid value:`,
			"policy subject must be 'proj:production:app-developer', not 'proj:staging:app-developer'",
			"object must be of the form 'production/*', 'production/<app>' or 'production/<namespace>/<app>', not 'staging/*'",
			"; spec.roles[0].policies[2]: Invalid value:",
			"effect must be 'allow' or 'deny', not 'permit'",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Validate = %v\nwant it to contain %q", err, want)
			}
		}
	})

	t.Run("sync windows", func(t *testing.T) {
		// Monday 2 June 2025, 22:30 UTC.
		now := time.Date(2025, 6, 2, 22, 30, 0, 0, time.UTC)
		dest := ap.Spec.Destinations[0]
		w := New(ap)
		w.Spec.SyncWindows = []argov1.SyncWindow{{Kind: "deny", Schedule: "0 22 * * *", Duration: "1h", Applications: []string{"*"}}}
		if ok, reason := w.CanSync("guestbook", dest, false, now); ok || !strings.Contains(reason, "active deny window") {
			t.Errorf("automated sync in a deny window: %v, %q", ok, reason)
		}
		w.Spec.SyncWindows[0].ManualSync = true
		if ok, reason := w.CanSync("guestbook", dest, true, now); !ok {
			t.Errorf("manual sync in a deny window with manualSync: %v, %q", ok, reason)
		}
		w.Spec.SyncWindows[0] = argov1.SyncWindow{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: "8h", Namespaces: []string{"production"}}
		if ok, reason := w.CanSync("guestbook", dest, false, now); ok || !strings.Contains(reason, "outside allow window") {
			t.Errorf("sync outside an allow window: %v, %q", ok, reason)
		}
	})
}

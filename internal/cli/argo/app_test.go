package argo

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestParseResource(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    argov1.SyncOperationResource
		wantErr bool
	}{
		{in: "apps:Deployment:web", want: argov1.SyncOperationResource{Group: "apps", Kind: "Deployment", Name: "web"}},
		{in: ":Service:prod/web", want: argov1.SyncOperationResource{Kind: "Service", Namespace: "prod", Name: "web"}},
		{in: "Deployment:web", wantErr: true},
		{in: "apps::web", wantErr: true},
		{in: "a:b:c:d", wantErr: true},
	} {
		got, err := parseResource(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("parseResource(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestWaitForUnmetNamesTheObjects(t *testing.T) {
	app := &argov1.Application{}
	app.Status.Sync.Status = argov1.SyncStatusCodeOutOfSync
	app.Status.Health.Status = argov1.HealthStatusProgressing
	app.Status.Resources = []argov1.ResourceStatus{
		{Kind: "Deployment", Namespace: "web", Name: "api", Status: argov1.SyncStatusCodeOutOfSync,
			Health: &argov1.HealthStatus{Status: argov1.HealthStatusProgressing, Message: "0 of 1 available"}},
		{Kind: "Service", Namespace: "web", Name: "api", Status: argov1.SyncStatusCodeSynced, Health: &argov1.HealthStatus{Status: argov1.HealthStatusHealthy}},
	}
	got := waitFor{health: true, sync: true}.unmet(app)
	for _, want := range []string{"sync OutOfSync (Deployment web/api is OutOfSync)", "health Progressing (Deployment web/api is Progressing: 0 of 1 available)"} {
		if !strings.Contains(got, want) {
			t.Errorf("unmet = %q, lacks %q", got, want)
		}
	}
	if strings.Contains(got, "Service") {
		t.Errorf("unmet names a healthy, synced object: %q", got)
	}
	if got := (waitFor{operation: true}).unmet(app); got != "" {
		t.Errorf("no operation: unmet %q", got)
	}
	app.Operation = &argov1.Operation{}
	if got := (waitFor{operation: true}).unmet(app); got != "operation Pending" {
		t.Errorf("a pending operation: unmet %q", got)
	}
}

func TestSpecFlagsApplyOnlyWhatWasGiven(t *testing.T) {
	var f specFlags
	cmd := &cobra.Command{}
	f.add(cmd.Flags())
	if err := cmd.Flags().Parse([]string{"--revision", "v2", "--sync-policy", "automated", "--self-heal",
		"--sync-option", "CreateNamespace=true", "--sync-option", "CreateNamespace=false", "--helm-set", "a=b", "--label", "team=x"}); err != nil {
		t.Fatal(err)
	}
	app := &argov1.Application{Spec: argov1.ApplicationSpec{
		Source:      &argov1.ApplicationSource{RepoURL: "https://git.example/r.git", Path: "p", TargetRevision: "v1"},
		Destination: argov1.ApplicationDestination{Namespace: "ns"},
	}}
	if err := f.apply(app, cmd.Flags()); err != nil {
		t.Fatal(err)
	}
	src := app.Spec.Source
	if src.RepoURL != "https://git.example/r.git" || src.Path != "p" || src.TargetRevision != "v2" || app.Spec.Destination.Namespace != "ns" {
		t.Errorf("source %+v, destination %+v", src, app.Spec.Destination)
	}
	p := app.Spec.SyncPolicy
	if p == nil || p.Automated == nil || !p.Automated.SelfHeal || p.Automated.Prune || len(p.SyncOptions) != 1 || p.SyncOptions[0] != "CreateNamespace=false" {
		t.Errorf("sync policy %+v", p)
	}
	if src.Helm == nil || len(src.Helm.Parameters) != 1 || src.Helm.Parameters[0].Value != "b" || app.Labels["team"] != "x" {
		t.Errorf("helm %+v labels %v", src.Helm, app.Labels)
	}

	bad := &cobra.Command{}
	var g specFlags
	g.add(bad.Flags())
	_ = bad.Flags().Parse([]string{"--auto-prune"})
	if err := g.apply(&argov1.Application{}, bad.Flags()); err == nil {
		t.Errorf("--auto-prune without --sync-policy automated was accepted")
	}
}

func TestTimeoutTakesSeconds(t *testing.T) {
	var d time.Duration
	cmd := &cobra.Command{}
	cmd.Flags().DurationVar(&d, "timeout", 0, "")
	secondsFlag(cmd, "timeout")
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "2m": 2 * time.Minute} {
		if err := cmd.Flags().Set("timeout", in); err != nil || d != want {
			t.Errorf("--timeout %s = %v, %v", in, d, err)
		}
	}
	if err := cmd.Flags().Set("timeout", "soon"); err == nil {
		t.Errorf("--timeout soon was accepted")
	}
}

func TestRollbackOperation(t *testing.T) {
	app := &argov1.Application{}
	app.Name = "web"
	app.Status.History = []argov1.RevisionHistory{
		{ID: 1, Revision: "aaa", Source: argov1.ApplicationSource{Path: "v1"}},
		{ID: 2, Revision: "bbb", Source: argov1.ApplicationSource{Path: "v2"}},
	}
	op, err := rollbackOperation(app, 1, true, false)
	if err != nil || op.Sync.Revision != "aaa" || op.Sync.Source == nil || op.Sync.Source.Path != "v1" || !op.Sync.Prune {
		t.Errorf("rollback to 1: %+v, %v", op, err)
	}
	if _, err := rollbackOperation(app, 7, false, false); err == nil || !strings.Contains(err.Error(), "'7'") {
		t.Errorf("an unknown id: %v", err)
	}
}

func TestStaleVersions(t *testing.T) {
	for _, tc := range []struct {
		v, after string
		want     bool
	}{
		{"99", "100", true},
		{"100", "100", false},
		{"101", "100", false},
		{"abc", "100", false},
		{"99", "", false},
	} {
		if got := stale(tc.v, tc.after); got != tc.want {
			t.Errorf("stale(%q, %q) = %v", tc.v, tc.after, got)
		}
	}
}

package application

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/source/git"
)

func TestSelection(t *testing.T) {
	sel := selection{{Group: "apps", Kind: "Deployment", Name: "web"}, {Kind: "ConfigMap", Name: "cm", Namespace: "a"}}
	for _, tc := range []struct {
		group, kind, ns, name string
		want                  bool
	}{
		{"apps", "Deployment", "any", "web", true}, // no namespace: any
		{"", "ConfigMap", "a", "cm", true},
		{"", "ConfigMap", "b", "cm", false},
		{"apps", "StatefulSet", "any", "web", false},
	} {
		if got := sel.has(tc.group, tc.kind, tc.ns, tc.name); got != tc.want {
			t.Errorf("%s/%s %s/%s selected = %v", tc.group, tc.kind, tc.ns, tc.name, got)
		}
	}
	if !selection(nil).has("x", "Y", "z", "n") {
		t.Error("no selection must select everything")
	}
}

func TestAlreadyAttempted(t *testing.T) {
	src := argov1.ApplicationSource{RepoURL: "https://git.example.com/app.git", Path: "app", TargetRevision: "HEAD"}
	app := func(result *argov1.SyncOperationResult, spec argov1.ApplicationSource) *argov1.Application {
		a := &argov1.Application{Spec: argov1.ApplicationSpec{Source: &spec}}
		if result != nil {
			a.Status.OperationState = &argov1.OperationState{Operation: argov1.Operation{Sync: &argov1.SyncOperation{}}, SyncResult: result}
		}
		return a
	}
	m := &manifests{revisions: []string{"abc"}}
	changed := src
	changed.Path = "other"
	for _, tc := range []struct {
		name string
		app  *argov1.Application
		want bool
	}{
		{"never synced", app(nil, src), false},
		{"same revision and source", app(&argov1.SyncOperationResult{Revision: "abc", Source: src}, src), true},
		{"new revision", app(&argov1.SyncOperationResult{Revision: "old", Source: src}, src), false},
		{"same revision, spec changed", app(&argov1.SyncOperationResult{Revision: "abc", Source: src}, changed), false},
	} {
		if got := alreadyAttempted(tc.app, m); got != tc.want {
			t.Errorf("%s: alreadyAttempted = %v", tc.name, got)
		}
	}
}

func TestSelfHealBackoff(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	r := &Reconciler{Now: func() time.Time { return now }, heals: map[types.NamespacedName]healRecord{}}
	key := nsName("argocd", "app")
	if w := r.healWait(key); w != 0 {
		t.Fatalf("first self-heal waits %s", w)
	}
	if w := r.healWait(key); w != selfHealPause {
		t.Errorf("second self-heal at once waits %s, want %s", w, selfHealPause)
	}
	now = now.Add(selfHealPause)
	if w := r.healWait(key); w != 0 {
		t.Errorf("second self-heal after the pause waits %s", w)
	}
	if w := r.healWait(key); w != 2*selfHealPause {
		t.Errorf("third self-heal waits %s, want %s", w, 2*selfHealPause)
	}
	r.healed(key)
	if w := r.healWait(key); w != 0 {
		t.Errorf("after a Synced refresh the count starts again; waits %s", w)
	}
}

func TestRequeueAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	r := &Reconciler{Now: func() time.Time { return now }, ResyncPeriod: 3 * time.Minute}
	failed := metav1.NewTime(now.Add(-2 * time.Second))
	two := int64(2)
	retrying := &argov1.Application{}
	retrying.Status.OperationState = &argov1.OperationState{Phase: argov1.OperationRunning, RetryCount: 2, FinishedAt: &failed,
		Operation: argov1.Operation{Retry: argov1.RetryStrategy{Limit: 5, Backoff: &argov1.Backoff{Duration: "5s", Factor: &two}}}}
	if got := r.requeueAfter(retrying); got != 8*time.Second {
		t.Errorf("second retry (10s backoff, failed 2s ago) in %s, want 8s", got)
	}
	progressing := &argov1.Application{}
	progressing.Status.Health.Status = argov1.HealthStatusProgressing
	if got := r.requeueAfter(progressing); got != progressingRecheck {
		t.Errorf("progressing app looked at again in %s", got)
	}
	if got := r.requeueAfter(&argov1.Application{}); got != r.ResyncPeriod {
		t.Errorf("settled app looked at again in %s", got)
	}
}

func TestRespectIgnoredKeepsLiveValues(t *testing.T) {
	norm, err := diff.New([]diff.Rule{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}})
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(replicas int64, image string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"},
			"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "web", "image": image}}}}}}}
	}
	got := respectIgnored(norm, deploy(1, "nginx:2"), deploy(3, "nginx:1"))
	replicas, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas")
	containers, _, _ := unstructured.NestedSlice(got.Object, "spec", "template", "spec", "containers")
	if replicas != 3 || containers[0].(map[string]any)["image"] != "nginx:2" {
		t.Errorf("replicas %d image %v: want the live replicas and the desired image", replicas, containers[0])
	}
}

func TestKnownSource(t *testing.T) {
	spec := argov1.ApplicationSource{RepoURL: "https://git.example.com/app.git", Path: "app"}
	old := argov1.ApplicationSource{RepoURL: "https://git.example.com/app.git", Path: "old"}
	app := &argov1.Application{Spec: argov1.ApplicationSpec{Source: &spec}}
	app.Status.History = []argov1.RevisionHistory{{Source: old}}
	other := argov1.ApplicationSource{RepoURL: "https://evil.example.com/x.git", Path: "app"}
	if !knownSource(app, &spec) || !knownSource(app, &old) || knownSource(app, &other) {
		t.Error("only the spec's source and sources from history may be synced")
	}
}

func TestRememberApplied(t *testing.T) {
	app := &argov1.Application{}
	app.Status.Resources = []argov1.ResourceStatus{{Kind: "ConfigMap", Namespace: "a", Name: "kept"}}
	app.Status.OperationState = &argov1.OperationState{SyncResult: &argov1.SyncOperationResult{Resources: []argov1.ResourceResult{
		{Kind: "ConfigMap", Namespace: "a", Name: "kept", Status: argov1.ResultCodeSynced},
		{Kind: "ConfigMap", Namespace: "a", Name: "old-only", Status: argov1.ResultCodeSynced},
		{Kind: "Job", Group: "batch", Namespace: "a", Name: "hook", Status: argov1.ResultCodeSynced, HookType: argov1.HookTypePreSync},
		{Kind: "ConfigMap", Namespace: "a", Name: "failed", Status: argov1.ResultCodeSyncFailed},
	}}}
	rememberApplied(app)
	var names []string
	for _, r := range app.Status.Resources {
		names = append(names, r.Name)
	}
	if len(names) != 2 || names[1] != "old-only" {
		t.Errorf("resources %v: want the applied object added once, no hooks, no failures", names)
	}
}

// TestServedNamespaces_CVE_2024_31990: Applications outside the control
// plane's namespace are only reconciled in namespaces the operator lists;
// anyone who may create an Application elsewhere gets nothing.
func TestServedNamespaces_CVE_2024_31990(t *testing.T) {
	r := &Reconciler{ControlPlaneNamespace: "argocd", AppNamespaces: []string{"team-*"}}
	for ns, want := range map[string]bool{"argocd": true, "team-a": true, "default": false, "kube-system": false} {
		app := &argov1.Application{}
		app.Namespace = ns
		if got := r.served(app); got != want {
			t.Errorf("app in %s served = %v, want %v", ns, got, want)
		}
	}
}

// TestStatusIDIsTheEngineID: an object listed in status.resources is found
// again among the engine's results, whatever its name (a hand-built id
// missed RBAC names with colons, and the app stayed OutOfSync forever).
func TestStatusIDIsTheEngineID(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("rbac.authorization.k8s.io/v1")
	u.SetKind("ClusterRole")
	u.SetName("system:tether:reader")
	rs := argov1.ResourceStatus{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "system:tether:reader"}
	if got, want := statusID(rs), engine.EntryOf(u).ID; got != want {
		t.Errorf("statusID %q, engine id %q", got, want)
	}
}

// TestRefOf: targetRevision as Argo CD reads it. HEAD and an empty
// revision follow the remote's default branch, whatever its name.
func TestRefOf(t *testing.T) {
	hash := "0123456789abcdef0123456789ABCDEF01234567"
	for _, tc := range []struct {
		rev  string
		want git.Ref
	}{
		{"", git.Ref{Name: "HEAD"}},
		{"HEAD", git.Ref{Name: "HEAD"}},
		{" HEAD ", git.Ref{Name: "HEAD"}},
		{"main", git.Ref{Branch: "main"}},
		{"v1.2.0", git.Ref{Branch: "v1.2.0"}}, // a tag when no such branch: see resolve
		{hash, git.Ref{Commit: strings.ToLower(hash)}},
		{"refs/pull/3/head", git.Ref{Name: "refs/pull/3/head"}},
	} {
		if got := refOf(tc.rev); got != tc.want {
			t.Errorf("refOf(%q) = %+v, want %+v", tc.rev, got, tc.want)
		}
	}
}

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestAPIServerApplicationActions drives an Application through the API
// as `argocd app create / sync / get --refresh / rollback / delete` do,
// checks what a read-only user may not do, and that the views of its
// objects (managed-resources, manifests, resource-tree) never show a
// Secret's value.
func TestAPIServerApplicationActions(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	const secretValue = "s3cr3t-value-of-the-test"
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "api-actions")
	files := map[string]string{
		"app/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api-settings}\ndata: {value: blue}\n",
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: api-db}\nstringData: {password: " + secretValue + "}\n",
		"app/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api-web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: api-web}}\n  template:\n    metadata: {labels: {app: api-web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
	}
	first := repo.Commit(t, "master", files, "first")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--git-resolve-ttl", "1s", "--app-resync-period", "10m")
	api, admin := adminSession(t, c, tether)
	carol := api.login("carol", "carol-password")
	t.Cleanup(func() {
		_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: "api-actions", Namespace: "argocd"}})
		_ = c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "api-actions"}})
	})

	app := map[string]any{
		"metadata": map[string]any{"name": "api-actions"},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": "https://git.example.com/api-actions.git", "targetRevision": "master", "path": "app"},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "api-actions"},
			"syncPolicy":  map[string]any{"syncOptions": []string{"CreateNamespace=true"}},
		},
	}
	expect := api.expect
	expect("POST", "/api/v1/applications", carol, app, http.StatusForbidden)
	expect("POST", "/api/v1/applications", admin, app, http.StatusOK)
	expect("POST", "/api/v1/applications", admin, app, http.StatusOK) // the same spec again is fine
	changed := map[string]any{"metadata": app["metadata"], "spec": map[string]any{
		"project": "default", "source": map[string]any{"repoURL": "https://git.example.com/api-actions.git", "targetRevision": "other", "path": "app"},
		"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "api-actions"}}}
	if out := expect("POST", "/api/v1/applications", admin, changed, http.StatusBadRequest); !strings.Contains(string(out), "upsert") {
		t.Errorf("create of a different spec: %s", out)
	}
	// A project must allow what the app says (checked before anything is stored).
	bad := map[string]any{"metadata": map[string]any{"name": "api-nope"}, "spec": map[string]any{"project": "no-such-project",
		"source": map[string]any{"repoURL": "https://git.example.com/api-actions.git", "path": "app"}, "destination": map[string]any{"server": "https://kubernetes.default.svc"}}}
	expect("POST", "/api/v1/applications", admin, bad, http.StatusBadRequest)
	if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "api-nope"}, &argov1.Application{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused app was stored: %v", err)
	}

	// Syncing: not for a read-only user; local manifests never (CVE-2023-50726).
	expect("POST", "/api/v1/applications/api-actions/sync", carol, map[string]any{}, http.StatusForbidden)
	expect("POST", "/api/v1/applications/api-actions/sync", admin, map[string]any{"manifests": []string{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: smuggled}\n"}}, http.StatusBadRequest)
	expect("POST", "/api/v1/applications/api-actions/sync", admin, map[string]any{"prune": true}, http.StatusOK)
	getApp := func(token string) argov1.Application {
		var a argov1.Application
		if err := json.Unmarshal(expect("GET", "/api/v1/applications/api-actions", token, nil, http.StatusOK), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	eventually(t, 90*time.Second, "the app Synced at the first commit", func(context.Context) error {
		a := getApp(admin)
		if a.Status.Sync.Status != argov1.SyncStatusCodeSynced || a.Status.Sync.Revision != first || a.Status.OperationState == nil || a.Status.OperationState.Phase != argov1.OperationSucceeded {
			return fmt.Errorf("sync %s at %s, operation %+v", a.Status.Sync.Status, a.Status.Sync.Revision, a.Status.OperationState)
		}
		if a.Status.OperationState.Operation.InitiatedBy.Username != "admin" {
			return fmt.Errorf("initiated by %q, want admin", a.Status.OperationState.Operation.InitiatedBy.Username)
		}
		return nil
	})

	// Views: Secrets masked everywhere.
	leaks := []string{secretValue, base64.StdEncoding.EncodeToString([]byte(secretValue))}
	noLeak := func(what string, body []byte) {
		for _, l := range leaks {
			if strings.Contains(string(body), l) {
				t.Errorf("%s shows the Secret's value", what)
			}
		}
	}
	managed := expect("GET", "/api/v1/applications/api-actions/managed-resources", carol, nil, http.StatusOK)
	noLeak("managed-resources", managed)
	if !strings.Contains(string(managed), `\"password\":\"++++++++\"`) || !strings.Contains(string(managed), `\"value\":\"blue\"`) {
		t.Errorf("managed-resources lacks the masked Secret or the ConfigMap: %s", managed)
	}
	manifests := expect("GET", "/api/v1/applications/api-actions/manifests", carol, nil, http.StatusOK)
	noLeak("manifests", manifests)
	if !strings.Contains(string(manifests), first) || strings.Count(string(manifests), `\"kind\":`) != 3 {
		t.Errorf("manifests = %s, want 3 objects at %s", manifests, first)
	}
	eventually(t, 60*time.Second, "Deployment -> ReplicaSet -> Pod in the resource tree", func(context.Context) error {
		var tree struct {
			Nodes []struct {
				Kind, Name string
				ParentRefs []struct{ Kind, Name string }
			}
		}
		if err := json.Unmarshal(expect("GET", "/api/v1/applications/api-actions/resource-tree", carol, nil, http.StatusOK), &tree); err != nil {
			return err
		}
		parents := map[string]string{}
		for _, n := range tree.Nodes {
			for _, p := range n.ParentRefs {
				parents[n.Kind] = p.Kind + "/" + p.Name
			}
		}
		if !strings.HasPrefix(parents["ReplicaSet"], "Deployment/api-web") || !strings.HasPrefix(parents["Pod"], "ReplicaSet/api-web-") {
			return fmt.Errorf("tree %+v", tree.Nodes)
		}
		return nil
	})
	if out := expect("GET", "/api/v1/applications/api-actions/events", carol, nil, http.StatusOK); !strings.Contains(string(out), `"involvedObject"`) {
		t.Errorf("events: %s", out)
	}

	// A push, then GET ?refresh=normal answers once the app was compared
	// with it (the resync period is 10 minutes).
	files["app/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api-settings}\ndata: {value: green}\n"
	second := repo.Commit(t, "master", files, "second")
	time.Sleep(1100 * time.Millisecond) // past --git-resolve-ttl
	var refreshed argov1.Application
	if err := json.Unmarshal(expect("GET", "/api/v1/applications/api-actions?refresh=normal", carol, nil, http.StatusOK), &refreshed); err != nil {
		t.Fatal(err)
	}
	if refreshed.Status.Sync.Revision != second || refreshed.Status.Sync.Status != argov1.SyncStatusCodeOutOfSync {
		t.Errorf("after refresh: %s at %s, want OutOfSync at %s", refreshed.Status.Sync.Status, refreshed.Status.Sync.Revision, second)
	}
	expect("POST", "/api/v1/applications/api-actions/sync", admin, map[string]any{}, http.StatusOK)
	eventually(t, 90*time.Second, "the app Synced at the second commit", func(ctx context.Context) error {
		if v, err := configMapValue(ctx, c, "api-actions", "api-settings"); err != nil || v != "green" {
			return fmt.Errorf("color %q (%v)", v, err)
		}
		if a := getApp(admin); a.Status.OperationState == nil || a.Status.OperationState.Phase != argov1.OperationSucceeded || len(a.Status.History) < 2 {
			return fmt.Errorf("operation %+v, history %d", a.Status.OperationState, len(a.Status.History))
		}
		return nil
	})

	// Rollback to the first deployment.
	a := getApp(admin)
	expect("POST", "/api/v1/applications/api-actions/rollback", carol, map[string]any{"id": a.Status.History[0].ID}, http.StatusForbidden)
	expect("POST", "/api/v1/applications/api-actions/rollback", admin, map[string]any{"id": 999}, http.StatusNotFound)
	expect("POST", "/api/v1/applications/api-actions/rollback", admin, map[string]any{"id": a.Status.History[0].ID}, http.StatusOK)
	eventually(t, 90*time.Second, "the first commit back", func(ctx context.Context) error {
		if v, err := configMapValue(ctx, c, "api-actions", "api-settings"); err != nil || v != "blue" {
			return fmt.Errorf("color %q (%v)", v, err)
		}
		return nil
	})

	// Update: a read-only user may not; admin's label lands.
	a = getApp(admin)
	body := map[string]any{"metadata": map[string]any{"name": "api-actions", "labels": map[string]string{"team": "web"}}, "spec": a.Spec}
	expect("PUT", "/api/v1/applications/api-actions", carol, body, http.StatusForbidden)
	var updated argov1.Application
	if err := json.Unmarshal(expect("PUT", "/api/v1/applications/api-actions", admin, body, http.StatusOK), &updated); err != nil || updated.Labels["team"] != "web" {
		t.Errorf("update answered labels %v (%v)", updated.Labels, err)
	}
	eventually(t, 10*time.Second, "the label in the API's view", func(context.Context) error {
		if got := getApp(admin); got.Labels["team"] != "web" {
			return fmt.Errorf("labels %v", got.Labels)
		}
		return nil
	})

	// Delete: cascade removes the app's objects.
	expect("DELETE", "/api/v1/applications/api-actions", carol, nil, http.StatusForbidden)
	expect("DELETE", "/api/v1/applications/api-actions?cascade=true", admin, nil, http.StatusOK)
	eventually(t, 90*time.Second, "the app and its objects gone", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "api-actions"}, &argov1.Application{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("app still there (%v)", err)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "api-actions", Name: "api-settings"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ConfigMap still there (%v)", err)
		}
		return nil
	})
	for _, l := range leaks {
		if strings.Contains(tether.Logs.String(), l) {
			t.Error("tether's log holds the Secret's value")
		}
	}
}

// TestAPIServerCVE_2024_31990_SourceNamespaces: an Application in a
// namespace that Tether serves (--application-namespaces) but that its
// project's sourceNamespaces does not list is refused by the API, and
// nothing is stored.
func TestAPIServerCVE_2024_31990_SourceNamespaces(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	for _, ns := range []string{"team-alpha", "team-beta"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: alpha, namespace: argocd}
spec:
  sourceRepos: ["*"]
  sourceNamespaces: [team-alpha]
  destinations: [{server: "*", namespace: "*"}]
`)
	t.Cleanup(func() {
		_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "alpha", Namespace: "argocd"}})
		_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: "ns-app", Namespace: "team-alpha"}})
	})
	tether := startTether(t, "--application-namespaces", "team-*")
	api, admin := adminSession(t, c, tether)
	app := func(ns string) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": "ns-app", "namespace": ns}, "spec": map[string]any{"project": "alpha",
			"source":      map[string]any{"repoURL": "https://git.example.com/x.git", "path": "app"},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "x"}}}
	}
	if status, body, _ := api.do("POST", "/api/v1/applications", admin, app("team-beta")); status != http.StatusForbidden {
		t.Errorf("app in team-beta (not a source namespace of alpha): %d %s, want 403", status, body)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "team-beta", Name: "ns-app"}, &argov1.Application{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused app was stored: %v", err)
	}
	if status, body, _ := api.do("POST", "/api/v1/applications", admin, app("default")); status != http.StatusForbidden {
		t.Errorf("app in a namespace Tether does not serve: %d %s, want 403", status, body)
	}
	if status, body, _ := api.do("POST", "/api/v1/applications", admin, app("team-alpha")); status != http.StatusOK {
		t.Errorf("app in team-alpha: %d %s", status, body)
	}
	if status, body, _ := api.do("GET", "/api/v1/applications/ns-app?appNamespace=team-alpha", admin, nil); status != http.StatusOK {
		t.Errorf("get app in team-alpha: %d %s", status, body)
	}
}

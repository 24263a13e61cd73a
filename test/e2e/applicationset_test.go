package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// appsetFolders are folders apps/<name> of one ConfigMap each, named
// appset-<name>.
func appsetFolders(names ...string) map[string]string {
	files := map[string]string{}
	for _, n := range names {
		files["apps/"+n+"/cm.yaml"] = configMap("appset-"+n, "")
	}
	return files
}

// appsetGitDirs is an ApplicationSet with a git directories generator
// over apps/*: one automated app per folder, into namespace
// appset-<folder>.
func appsetGitDirs(preserve bool) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: folders, namespace: argocd}
spec:
  generators:
  - git:
      repoURL: https://git.example.com/appset.git
      revision: HEAD
      directories: [{path: "apps/*"}]
  syncPolicy: {preserveResourcesOnDeletion: %t}
  template:
    metadata: {name: "appset-{{path.basename}}"}
    spec:
      project: default
      source: {repoURL: https://git.example.com/appset.git, targetRevision: HEAD, path: "{{path}}"}
      destination: {server: https://kubernetes.default.svc, namespace: "appset-{{path.basename}}"}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
`, preserve)
}

// ownedApps lists the names of the Applications set owns.
func ownedApps(ctx context.Context, c client.Client, set string) ([]string, error) {
	var apps argov1.ApplicationList
	if err := c.List(ctx, &apps, client.InNamespace("argocd")); err != nil {
		return nil, err
	}
	var names []string
	for _, a := range apps.Items {
		if ref := metav1.GetControllerOf(&a); ref != nil && ref.Kind == "ApplicationSet" && ref.Name == set {
			names = append(names, a.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func waitOwnedApps(t *testing.T, c client.Client, set string, want ...string) {
	t.Helper()
	sort.Strings(want)
	eventually(t, 60*time.Second, fmt.Sprintf("ApplicationSet %s owns %v", set, want), func(ctx context.Context) error {
		got, err := ownedApps(ctx, c, set)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("owns %v", got)
		}
		return nil
	})
}

func configMapExists(ctx context.Context, c client.Client, ns, name string) (bool, error) {
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &corev1.ConfigMap{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// TestApplicationSetGitDirectories: a git directories generator over a
// repository of 5 folders makes 5 Applications, all Synced; adding a
// folder adds one; deleting one deletes its app and its objects, or,
// with preserveResourcesOnDeletion, deletes the app and keeps its
// objects. The set's status lists its apps with their sync status.
func TestApplicationSetGitDirectories(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "appset")
	repo.Commit(t, "master", appsetFolders("a", "b", "c", "d", "e"), "five folders")
	apiFixture(t, c)
	tether := startTetherOn(t, srv, "--appset-requeue-after", "2s")
	objs := applyYAML(t, appsetGitDirs(false))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})

	t.Run("five folders make five synced apps", func(t *testing.T) {
		waitOwnedApps(t, c, "folders", "appset-a", "appset-b", "appset-c", "appset-d", "appset-e")
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			app := waitApp(t, c, "argocd", "appset-"+n, "", "Synced", "Healthy", 90*time.Second)
			if !slices.Contains(app.Finalizers, argov1.ResourcesFinalizerName) {
				t.Errorf("appset-%s finalizers %v: want the resources finalizer", n, app.Finalizers)
			}
			if ok, err := configMapExists(ctx, c, "appset-"+n, "appset-"+n); !ok {
				t.Errorf("ConfigMap appset-%s: %v", n, err)
			}
		}
		eventually(t, 30*time.Second, "status.resources lists 5 Synced apps", func(ctx context.Context) error {
			var set argov1.ApplicationSet
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "folders"}, &set); err != nil {
				return err
			}
			synced := 0
			for _, r := range set.Status.Resources {
				if r.Kind == "Application" && r.Status == argov1.SyncStatusCodeSynced {
					synced++
				}
			}
			if synced != 5 || set.Status.ResourcesCount != 5 {
				return fmt.Errorf("resources %+v", set.Status.Resources)
			}
			for _, cond := range set.Status.Conditions {
				if cond.Type == argov1.ApplicationSetConditionResourcesUpToDate && cond.Status != "True" {
					return fmt.Errorf("condition %+v", cond)
				}
			}
			return nil
		})
	})

	t.Run("the API lists and shows the set by RBAC", func(t *testing.T) {
		api, admin := adminSession(t, c, tether)
		carol := api.login("carol", "carol-password") // role:readonly
		var list struct {
			Items []argov1.ApplicationSet `json:"items"`
		}
		if err := json.Unmarshal(api.expect("GET", "/api/v1/applicationsets", carol, nil, http.StatusOK), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "folders" || len(list.Items[0].Status.Resources) != 5 {
			t.Errorf("list: %+v", list.Items)
		}
		api.expect("GET", "/api/v1/applicationsets/folders", carol, nil, http.StatusOK)
		api.expect("GET", "/api/v1/applicationsets/no-such-set", admin, nil, http.StatusForbidden)
		api.expect("DELETE", "/api/v1/applicationsets/folders", carol, nil, http.StatusForbidden)
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "folders"}, &argov1.ApplicationSet{}); err != nil {
			t.Errorf("a refused delete deleted the set: %v", err)
		}
	})

	t.Run("a new folder adds an app", func(t *testing.T) {
		repo.Commit(t, "master", appsetFolders("f"), "a sixth folder")
		waitOwnedApps(t, c, "folders", "appset-a", "appset-b", "appset-c", "appset-d", "appset-e", "appset-f")
		waitApp(t, c, "argocd", "appset-f", "", "Synced", "Healthy", 90*time.Second)
	})

	t.Run("a deleted folder deletes its app and objects", func(t *testing.T) {
		repo.Commit(t, "master", map[string]string{"apps/e": ""}, "remove e")
		waitOwnedApps(t, c, "folders", "appset-a", "appset-b", "appset-c", "appset-d", "appset-f")
		waitGone(t, c, 60*time.Second, "Application appset-e", "argocd", "appset-e", &argov1.Application{})
		waitGone(t, c, 60*time.Second, "ConfigMap appset-e", "appset-e", "appset-e", &corev1.ConfigMap{})
	})

	t.Run("a project that does not exist is an error and makes no app", func(t *testing.T) {
		doc := strings.ReplaceAll(strings.ReplaceAll(appsetGitDirs(false), "name: folders,", "name: folders-noproject,"), "project: default", "project: no-such-project")
		doc = strings.ReplaceAll(doc, `name: "appset-{{path.basename}}"`, `name: "noproject-{{path.basename}}"`)
		objs := applyYAML(t, doc)
		t.Cleanup(func() { _ = c.Delete(context.Background(), objs[0]) })
		eventually(t, 30*time.Second, "ErrorOccurred", func(ctx context.Context) error {
			var set argov1.ApplicationSet
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "folders-noproject"}, &set); err != nil {
				return err
			}
			for _, cond := range set.Status.Conditions {
				if cond.Type == argov1.ApplicationSetConditionErrorOccurred && cond.Status == "True" &&
					strings.Contains(cond.Message, "application references project no-such-project which does not exist") {
					return nil
				}
			}
			return fmt.Errorf("conditions %+v", set.Status.Conditions)
		})
		if names, err := ownedApps(ctx, c, "folders-noproject"); err != nil || len(names) > 0 {
			t.Errorf("apps made: %v (%v)", names, err)
		}
	})

	t.Run("with preserveResourcesOnDeletion the objects stay", func(t *testing.T) {
		applyYAML(t, appsetGitDirs(true))
		eventually(t, 30*time.Second, "the resources finalizer removed", func(ctx context.Context) error {
			var app argov1.Application
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "appset-d"}, &app); err != nil {
				return err
			}
			if slices.Contains(app.Finalizers, argov1.ResourcesFinalizerName) {
				return fmt.Errorf("finalizers %v", app.Finalizers)
			}
			return nil
		})
		repo.Commit(t, "master", map[string]string{"apps/d": ""}, "remove d")
		waitGone(t, c, 60*time.Second, "Application appset-d", "argocd", "appset-d", &argov1.Application{})
		time.Sleep(3 * time.Second) // a cascade would have begun by now
		if ok, err := configMapExists(ctx, c, "appset-d", "appset-d"); !ok {
			t.Errorf("ConfigMap appset-d was deleted with its app: %v", err)
		}
	})
}

// gatedMonitor is a ServiceMonitor that luaHealthScript keeps
// Progressing until the test annotates the live object.
func gatedMonitor(name string) string {
	return fmt.Sprintf(`apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: %s}
spec:
  selector: {matchLabels: {app: %s}}
  endpoints: [{port: http}]
`, name, name)
}

// TestApplicationSetRollingSync: a RollingSync with two steps (env dev
// with maxUpdate 1, then env prod) syncs one dev app, the second only
// once the first is Healthy, and the prod app only once every dev app is
// Healthy; the apps are generated without automated sync, and the set
// reports each app's step and state. The test decides when each app
// becomes Healthy (a Lua health check reads an annotation it sets).
func TestApplicationSetRollingSync(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name = "argocd", "argocd-cm"
	cm.Data = map[string]string{"resource.customizations.health.monitoring.coreos.com_ServiceMonitor": luaHealthScript}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cm) })
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "rolling")
	repo.Commit(t, "master", map[string]string{
		"dev-1/sm.yaml": gatedMonitor("rolling-dev-1"), "dev-2/sm.yaml": gatedMonitor("rolling-dev-2"),
		"prod-1/sm.yaml": gatedMonitor("rolling-prod-1"),
	}, "three apps")
	startTetherOn(t, srv, "--appset-requeue-after", "2s")
	objs := applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: rolling, namespace: argocd}
spec:
  goTemplate: true
  generators:
  - list:
      elements:
      - {name: dev-1, env: dev}
      - {name: dev-2, env: dev}
      - {name: prod-1, env: prod}
  strategy:
    type: RollingSync
    rollingSync:
      steps:
      - matchExpressions: [{key: env, operator: In, values: [dev]}]
        maxUpdate: 1
      - matchExpressions: [{key: env, operator: In, values: [prod]}]
  template:
    metadata:
      name: "rolling-{{.name}}"
      labels: {env: "{{.env}}"}
    spec:
      project: default
      source: {repoURL: https://git.example.com/rolling.git, targetRevision: HEAD, path: "{{.name}}"}
      destination: {server: https://kubernetes.default.svc, namespace: rolling}
      syncPolicy:
        automated: {prune: true}
        syncOptions: [CreateNamespace=true]
`)
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})
	synced := func(ctx context.Context, name string) (bool, error) {
		var app argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "rolling-" + name}, &app); err != nil {
			return false, err
		}
		if app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil {
			return false, fmt.Errorf("%s keeps automated sync under RollingSync", name)
		}
		op := app.Status.OperationState
		if op != nil && op.Operation.InitiatedBy.Username != "applicationset-controller" {
			return false, fmt.Errorf("%s synced by %q", name, op.Operation.InitiatedBy.Username)
		}
		return op != nil || app.Operation != nil, nil
	}
	// only waits until exactly the apps in want have been synced, then
	// checks for 3 s that no other one starts.
	only := func(t *testing.T, want ...string) {
		t.Helper()
		all := []string{"dev-1", "dev-2", "prod-1"}
		check := func(ctx context.Context) error {
			for _, n := range all {
				got, err := synced(ctx, n)
				if err != nil {
					return err
				}
				if got != slices.Contains(want, n) {
					return fmt.Errorf("%s synced: %t, want %t", n, got, !got)
				}
			}
			return nil
		}
		eventually(t, 90*time.Second, fmt.Sprintf("only %v synced", want), check)
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if err := check(ctx); err != nil {
				t.Fatalf("while %v are not all Healthy: %v", want, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	healthy := func(t *testing.T, name string) {
		t.Helper()
		eventually(t, 30*time.Second, "annotate "+name, func(ctx context.Context) error {
			var sm unstructuredObject
			sm.SetAPIVersion("monitoring.coreos.com/v1")
			sm.SetKind("ServiceMonitor")
			if err := c.Get(ctx, types.NamespacedName{Namespace: "rolling", Name: "rolling-" + name}, &sm); err != nil {
				return err
			}
			ann := sm.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann["tether.test/health"] = "Healthy"
			sm.SetAnnotations(ann)
			return c.Update(ctx, &sm)
		})
		waitApp(t, c, "argocd", "rolling-"+name, "", "Synced", "Healthy", 60*time.Second)
	}

	// maxUpdate 1: one dev app first, whichever the step picks.
	var first, second string
	eventually(t, 90*time.Second, "one dev app synced", func(ctx context.Context) error {
		for _, n := range []string{"dev-1", "dev-2"} {
			if ok, err := synced(ctx, n); err != nil {
				return err
			} else if ok {
				first = n
				return nil
			}
		}
		return fmt.Errorf("none yet")
	})
	second = map[string]string{"dev-1": "dev-2", "dev-2": "dev-1"}[first]
	only(t, first)
	healthy(t, first)
	only(t, first, second)
	healthy(t, second)
	only(t, first, second, "prod-1")
	healthy(t, "prod-1")
	eventually(t, 30*time.Second, "rollout complete", func(ctx context.Context) error {
		var set argov1.ApplicationSet
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "rolling"}, &set); err != nil {
			return err
		}
		steps := map[string]string{}
		for _, s := range set.Status.ApplicationStatus {
			if s.Status != "Healthy" {
				return fmt.Errorf("%s is %s", s.Application, s.Status)
			}
			steps[s.Application] = s.Step
		}
		if steps["rolling-dev-1"] != "1" || steps["rolling-dev-2"] != "1" || steps["rolling-prod-1"] != "2" {
			return fmt.Errorf("steps %v", steps)
		}
		for _, cond := range set.Status.Conditions {
			if cond.Type == argov1.ApplicationSetConditionRolloutProgressing && cond.Status == "False" {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", set.Status.Conditions)
	})
}

// unstructuredObject is an object of a kind the client has no type for.
type unstructuredObject = unstructured.Unstructured

// TestApplicationSetMatrixClusters: a matrix of the clusters generator
// (a cluster Secret labelled env=remote, registering a second real
// control plane) and a git directories generator makes one app per
// cluster and folder, and their objects land on the second control plane.
func TestApplicationSetMatrixClusters(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	token := "tether-appset-" + randomText(24)
	remote, err := testenv.Start(testenv.Options{Users: []testenv.User{{Name: "argocd-manager", Token: token, Groups: []string{"system:masters"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remote.Stop)
	rc, err := remote.Client()
	if err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "matrix")
	repo.Commit(t, "master", map[string]string{
		"apps/web/cm.yaml": configMap("matrix-web", ""), "apps/db/cm.yaml": configMap("matrix-db", ""),
	}, "two folders")
	startTetherOn(t, srv, "--appset-requeue-after", "2s")
	config, _ := json.Marshal(map[string]any{"bearerToken": token, "tlsClientConfig": map[string]any{"caData": base64.StdEncoding.EncodeToString(remote.Config.CAData)}})
	objs := applyYAML(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: appset-remote
  namespace: argocd
  labels: {argocd.argoproj.io/secret-type: cluster, env: remote}
stringData:
  name: remote
  server: %s
  config: '%s'
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: matrix, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - matrix:
      generators:
      - clusters: {selector: {matchLabels: {env: remote}}}
      - git:
          repoURL: https://git.example.com/matrix.git
          revision: HEAD
          directories: [{path: "apps/*"}]
  template:
    metadata: {name: "{{.name}}-{{.path.basename}}"}
    spec:
      project: default
      source: {repoURL: https://git.example.com/matrix.git, targetRevision: HEAD, path: "{{.path.path}}"}
      destination: {server: "{{.server}}", namespace: matrix}
      syncPolicy:
        automated: {prune: true}
        syncOptions: [CreateNamespace=true]
`, remote.Config.Host, config))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})
	waitOwnedApps(t, c, "matrix", "remote-db", "remote-web")
	for _, n := range []string{"db", "web"} {
		waitApp(t, c, "argocd", "remote-"+n, "", "Synced", "Healthy", 90*time.Second)
		if ok, err := configMapExists(ctx, rc, "matrix", "matrix-"+n); !ok {
			t.Errorf("ConfigMap matrix/matrix-%s on the second control plane: %v", n, err)
		}
		if ok, _ := configMapExists(ctx, c, "matrix", "matrix-"+n); ok {
			t.Errorf("ConfigMap matrix/matrix-%s landed on the local cluster", n)
		}
	}
}

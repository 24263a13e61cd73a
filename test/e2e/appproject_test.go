package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// productionApp is an Application of project production.
func productionApp(name, repo, path, namespace string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: production
  source: {repoURL: %q, targetRevision: HEAD, path: %s}
  destination: {server: "https://kubernetes.default.svc", namespace: %s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, name, repo, path, namespace)
}

// TestAppProjectProductionSeed03 runs the seed's 03 AppProject unchanged:
// apps in project production may only use that repo and that destination,
// may create Namespaces but no other cluster-scoped kind, and never a
// ResourceQuota; a refused object fails the sync and nothing of it is
// applied. A deny sync window holds automated syncs back and says why.
func TestAppProjectProductionSeed03(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "production-apps")
	repo.Commit(t, "master", map[string]string{
		"ok/cm.yaml":            configMap("prod-settings", ""),
		"ok/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: production-extra\n",
		"orphans/cm.yaml":       configMap("orphans-settings", ""),
		"clusterrole/cm.yaml":   configMap("prod-never-1", ""),
		"clusterrole/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: prod-reader\nrules: []\n",
		"quota/cm.yaml":         configMap("prod-never-2", ""),
		"quota/quota.yaml":      "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: prod-quota\nspec:\n  hard: {pods: \"10\"}\n",
	}, "production apps")
	startTether(t, "--url-rewrite", "https://github.com/example/production-apps.git="+repo.URL,
		"--url-rewrite", "https://github.com/example/other-apps.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	for _, o := range seedObjects(t, filepath.Join(seedDir, "03-argo-appproject-production.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	const prodRepo = "https://github.com/example/production-apps.git"
	apps := []string{"prod-ok", "prod-other-repo", "prod-other-ns", "prod-clusterrole", "prod-quota", "windowed", "orphans"}
	t.Cleanup(func() {
		for _, a := range apps {
			deleteApp(t, c, "argocd", a)
		}
	})
	absent := func(t *testing.T, ns, name string, obj interface{ GetName() string }) {
		t.Helper()
		var err error
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			err = c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, o)
		case *corev1.Namespace:
			err = c.Get(context.Background(), types.NamespacedName{Name: name}, o)
		}
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s/%s exists (err %v): nothing of a refused sync may be applied", ns, name, err)
		}
	}

	t.Run("the permitted repo and destination sync, a Namespace included", func(t *testing.T) {
		applyYAML(t, productionApp("prod-ok", prodRepo, "ok", "production"))
		waitApp(t, c, "argocd", "prod-ok", "", "Synced", "Healthy", 60*time.Second)
		if err := c.Get(context.Background(), types.NamespacedName{Name: "production-extra"}, &corev1.Namespace{}); err != nil {
			t.Errorf("whitelisted Namespace not created: %v", err)
		}
	})

	t.Run("another repo is refused", func(t *testing.T) {
		applyYAML(t, productionApp("prod-other-repo", "https://github.com/example/other-apps.git", "ok", "production"))
		waitCondition(t, c, "prod-other-repo", argov1.ApplicationConditionInvalidSpecError,
			"application repo https://github.com/example/other-apps.git is not permitted in project 'production'")
	})

	t.Run("another namespace is refused", func(t *testing.T) {
		applyYAML(t, productionApp("prod-other-ns", prodRepo, "ok", "default"))
		waitCondition(t, c, "prod-other-ns", argov1.ApplicationConditionInvalidSpecError, "do not match any of the allowed destinations in project 'production'")
		absent(t, "default", "prod-settings", &corev1.ConfigMap{})
	})

	for _, tc := range []struct{ app, path, kind, never string }{
		{"prod-clusterrole", "clusterrole", "ClusterRole", "prod-never-1"},
		{"prod-quota", "quota", "ResourceQuota", "prod-never-2"},
	} {
		t.Run("a "+tc.kind+" fails the sync naming it; nothing is applied (CVE-2022-24768)", func(t *testing.T) {
			applyYAML(t, productionApp(tc.app, prodRepo, tc.path, "production"))
			var app argov1.Application
			eventually(t, 30*time.Second, tc.app+" sync failed", func(ctx context.Context) error {
				if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: tc.app}, &app); err != nil {
					return err
				}
				if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationFailed {
					return fmt.Errorf("%s", operationSummary(st))
				}
				return nil
			})
			if msg := app.Status.OperationState.Message; !strings.Contains(msg, tc.kind) || !strings.Contains(msg, "production") {
				t.Errorf("message %q does not name the %s and the project", msg, tc.kind)
			}
			absent(t, "production", tc.never, &corev1.ConfigMap{})
		})
	}

	t.Run("orphaned objects in the destination namespace are warned about", func(t *testing.T) {
		applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: orphans, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
  orphanedResources:
    warn: true
    ignore: [{kind: ConfigMap, name: "ignored-*"}]
`)
		// A path of its own: an automated sync never takes objects that
		// another app (prod-ok) tracks.
		applyYAML(t, strings.Replace(productionApp("orphans", prodRepo, "orphans", "orphans"), "project: production", "project: orphans", 1))
		waitApp(t, c, "argocd", "orphans", "", "Synced", "Healthy", 60*time.Second)
		applyYAML(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: orphans}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ignored-x, namespace: orphans}\n")
		waitCondition(t, c, "orphans", argov1.ApplicationConditionOrphanedResourceWarning, "Application has 1 orphaned resources")
	})

	t.Run("a deny sync window holds automated sync back with the reason", func(t *testing.T) {
		applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: windowed, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
  syncWindows:
  - {kind: deny, schedule: "* * * * *", duration: 1h, applications: ["*"]}
`)
		applyYAML(t, strings.Replace(productionApp("windowed", prodRepo, "ok", "windowed"), "project: production", "project: windowed", 1))
		app := waitCondition(t, c, "windowed", argov1.ApplicationConditionSyncError, "active deny window")
		if app.Status.OperationState != nil {
			t.Errorf("an operation ran inside a deny window: %s", operationSummary(app.Status.OperationState))
		}
		absent(t, "windowed", "prod-settings", &corev1.ConfigMap{})
	})
}

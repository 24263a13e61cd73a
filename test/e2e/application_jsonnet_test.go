package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// jsonnetApp is an automated Application of path in the jsonnet-apps
// repository, deployed to namespace ns, with directory options dir
// (YAML at the indentation of spec.source.directory's fields).
func jsonnetApp(name, path, ns, dir string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://git.example.com/jsonnet-apps.git
    targetRevision: HEAD
    path: %s
    directory:
%s
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, name, path, dir, ns)
}

// TestApplicationJsonnet: Argo CD's Jsonnet examples render and sync as
// Applications (the TLA one with top-level arguments, string and code);
// a change to an imported .libsonnet is synced; a Jsonnet that imports
// from outside the checkout, recurses without end or loops forever fails
// with a ComparisonError naming the file, and nothing of it is applied.
func TestApplicationJsonnet(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "jsonnet-apps")
	files := folderFiles(t, "testdata/jsonnet-guestbook", "")
	for _, bad := range []struct{ dir, program string }{
		{"jsonnet-escape", `import '../../../../../../../../etc/passwd'`},
		{"jsonnet-recursion", `local f(x) = f(x + 1); f(0)`},
		{"jsonnet-forever", `local f(x) = f(x + 1) tailstrict; f(0)`},
	} {
		files[bad.dir+"/main.jsonnet"] = bad.program
		files[bad.dir+"/cm.yaml"] = configMap(bad.dir+"-never-applied", "")
	}
	head := repo.Commit(t, "master", files, "jsonnet examples")
	startTether(t, "--url-rewrite", "https://git.example.com/jsonnet-apps.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s", "--render-timeout", "3s")
	apps := []string{"jsonnet-guestbook", "jsonnet-tla", "jsonnet-escape", "jsonnet-recursion", "jsonnet-forever"}
	t.Cleanup(func() {
		for _, a := range apps {
			deleteApp(t, c, "argocd", a)
		}
	})
	get := func(ns, name string, obj client.Object) error {
		return c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj)
	}

	t.Run("jsonnet-guestbook: the program and its params.libsonnet sync", func(t *testing.T) {
		applyYAML(t, jsonnetApp("jsonnet-guestbook", "jsonnet-guestbook", "jsonnet-guestbook", "      recurse: false"))
		// The example's Service is a LoadBalancer: Progressing until a
		// load balancer reports an address, which the test plays.
		waitApp(t, c, "argocd", "jsonnet-guestbook", head, "Synced", "Progressing", 90*time.Second)
		var svc corev1.Service
		if err := get("jsonnet-guestbook", "jsonnet-guestbook-ui", &svc); err != nil {
			t.Fatal(err)
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
		if err := c.Status().Update(context.Background(), &svc); err != nil {
			t.Fatal(err)
		}
		app := waitApp(t, c, "argocd", "jsonnet-guestbook", head, "Synced", "Healthy", 60*time.Second)
		if app.Status.SourceType != argov1.ApplicationSourceTypeDirectory || len(app.Status.Resources) != 2 {
			t.Errorf("source type %s, resources %+v: want Directory, the Service and the Deployment", app.Status.SourceType, app.Status.Resources)
		}
	})

	t.Run("a change to the imported params.libsonnet is synced", func(t *testing.T) {
		params := strings.Replace(files["jsonnet-guestbook/params.libsonnet"], "replicas: 1", "replicas: 2", 1)
		next := repo.Commit(t, "master", map[string]string{"jsonnet-guestbook/params.libsonnet": params}, "two replicas")
		waitApp(t, c, "argocd", "jsonnet-guestbook", next, "Synced", "Healthy", 60*time.Second)
		var dep appsv1.Deployment
		if err := get("jsonnet-guestbook", "jsonnet-guestbook-ui", &dep); err != nil || *dep.Spec.Replicas != 2 {
			t.Errorf("replicas %v (err %v), want 2", dep.Spec.Replicas, err)
		}
	})

	t.Run("jsonnet-guestbook-tla: top-level arguments, string and code", func(t *testing.T) {
		applyYAML(t, jsonnetApp("jsonnet-tla", "jsonnet-guestbook-tla", "jsonnet-tla", `      jsonnet:
        tlas:
        - {name: name, value: tla-guestbook}
        - {name: type, value: ClusterIP}
        - {name: replicas, value: "1 + 2", code: true}`))
		waitApp(t, c, "argocd", "jsonnet-tla", "", "Synced", "Healthy", 90*time.Second)
		var dep appsv1.Deployment
		if err := get("jsonnet-tla", "tla-guestbook", &dep); err != nil || *dep.Spec.Replicas != 3 {
			t.Fatalf("Deployment tla-guestbook: replicas %v (err %v), want 3", dep.Spec.Replicas, err)
		}
		var svc corev1.Service
		if err := get("jsonnet-tla", "tla-guestbook", &svc); err != nil || svc.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Errorf("Service tla-guestbook: type %q (err %v), want ClusterIP", svc.Spec.Type, err)
		}
	})

	for _, tc := range []struct {
		app, want string
	}{
		{"jsonnet-escape", `jsonnet-escape/main.jsonnet: RUNTIME ERROR: import "../../../../../../../../etc/passwd" in jsonnet-escape/main.jsonnet (looked up in jsonnet-escape) leaves the source root`},
		{"jsonnet-recursion", "jsonnet-recursion/main.jsonnet: RUNTIME ERROR: max stack frames exceeded"},
		{"jsonnet-forever", "jsonnet-forever/main.jsonnet: Jsonnet evaluation stopped after 3s (the render timeout)"},
	} {
		t.Run(tc.app+" fails naming the file; nothing is applied", func(t *testing.T) {
			applyYAML(t, jsonnetApp(tc.app, tc.app, tc.app, "      recurse: false"))
			app := waitCondition(t, c, tc.app, argov1.ApplicationConditionComparisonError, tc.want)
			if app.Status.Sync.Status == argov1.SyncStatusCodeSynced {
				t.Errorf("sync status %s", app.Status.Sync.Status)
			}
			if err := get(tc.app, tc.app+"-never-applied", &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
				t.Errorf("an object of the failing folder was applied: %v", err)
			}
		})
	}
}

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
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

const advancedBase = "k8s/base/kustomization.yaml"

// TestApplicationAdvancedSeed02 runs the seed's 02 example unchanged: the
// Kustomize overlay is rendered with namePrefix, commonLabels and the image
// override; the namespace is created; pruning happens last and in the
// foreground; a failing sync is retried 5 times with 5s·2ⁿ backoff; an
// empty render does not wipe the app.
func TestApplicationAdvancedSeed02(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "advanced-app")
	head := repo.Commit(t, "master", folderFiles(t, "testdata/advanced-app", ""), "advanced app")
	startTether(t, "--url-rewrite", "https://github.com/example/advanced-app.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	for _, o := range seedObjects(t, filepath.Join(seedDir, "02-argo-application-advanced.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	t.Cleanup(func() { deleteApp(t, c, "argocd", "advanced-app") })
	get := func(ctx context.Context, name string, obj client.Object) error {
		return c.Get(ctx, types.NamespacedName{Namespace: "production", Name: name}, obj)
	}

	t.Run("overlay rendered with namePrefix, commonLabels and the image override; namespace created", func(t *testing.T) {
		app := waitApp(t, c, "argocd", "advanced-app", head, "Synced", "Healthy", 90*time.Second)
		var dep appsv1.Deployment
		if err := get(context.Background(), "production-guestbook-ui", &dep); err != nil {
			t.Fatal(err)
		}
		if dep.Labels["environment"] != "production" || dep.Spec.Selector.MatchLabels["environment"] != "production" {
			t.Errorf("commonLabels missing: labels %v selector %v", dep.Labels, dep.Spec.Selector.MatchLabels)
		}
		if img := dep.Spec.Template.Spec.Containers[0].Image; img != "gcr.io/heptio-images/ks-guestbook-demo:0.2" {
			t.Errorf("image %s, want the override 0.2", img)
		}
		if *dep.Spec.Replicas != 2 {
			t.Errorf("replicas %d, want the overlay's 2", *dep.Spec.Replicas)
		}
		if err := get(context.Background(), "production-guestbook-ui", &corev1.Service{}); err != nil {
			t.Error(err)
		}
		var ns corev1.Namespace
		if err := c.Get(context.Background(), types.NamespacedName{Name: "production"}, &ns); err != nil {
			t.Fatalf("namespace production not created: %v", err)
		}
		if app.Status.SourceType != argov1.ApplicationSourceTypeKustomize {
			t.Errorf("sourceType %q", app.Status.SourceType)
		}
	})

	t.Run("pruning happens last and in the foreground", func(t *testing.T) {
		next := repo.Commit(t, "master", map[string]string{
			advancedBase:           "resources:\n- deployment.yaml\n- service.yaml\n- extra.yaml\n",
			"k8s/base/config.yaml": "",
			"k8s/base/extra.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n",
		}, "replace the config map")
		app := waitApp(t, c, "argocd", "advanced-app", next, "Synced", "Healthy", 30*time.Second)
		results := app.Status.OperationState.SyncResult.Resources
		pruned, lastApplied := -1, -1
		for i, r := range results {
			switch {
			case r.Status == argov1.ResultCodePruned && r.Name == "production-guestbook-config":
				pruned = i
			case r.Status == argov1.ResultCodeSynced:
				lastApplied = i
			}
		}
		if pruned < 0 || pruned < lastApplied {
			t.Errorf("sync results %+v: want the pruned ConfigMap after every applied object", results)
		}
		if err := get(context.Background(), "production-guestbook-config", &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("pruned ConfigMap still there: %v", err)
		}
		events, err := cluster(t).AuditEvents()
		if err != nil {
			t.Fatal(err)
		}
		policy := ""
		for _, e := range events {
			if e.Verb == "delete" && strings.HasPrefix(e.UserAgent, "tether") && strings.HasSuffix(e.RequestURI, "/namespaces/production/configmaps/production-guestbook-config") {
				policy = fmt.Sprint(e.RequestObject["propagationPolicy"])
			}
		}
		if policy != "Foreground" {
			t.Errorf("prune deleted with propagation %q, want Foreground", policy)
		}
	})

	t.Run("a failing sync is retried 5 times with 5s, 10s, 20s, 40s, 80s backoff", func(t *testing.T) {
		bad := repo.Commit(t, "master", map[string]string{
			advancedBase:           "resources:\n- deployment.yaml\n- service.yaml\n- extra.yaml\n- new.yaml\n- broken.yaml\n",
			"k8s/base/new.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new-in-broken\ndata:\n  a: b\n",
			"k8s/base/broken.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: two\n  selector: {matchLabels: {app: broken}}\n  template:\n    metadata: {labels: {app: broken}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
		}, "broken revision")
		attempts := map[int64]time.Time{} // retry count -> when that attempt failed
		var app argov1.Application
		eventually(t, 4*time.Minute, "sync failed after 5 retries", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "advanced-app"}, &app); err != nil {
				return err
			}
			st := app.Status.OperationState
			if st == nil || st.SyncResult == nil || st.SyncResult.Revision != bad || st.FinishedAt == nil {
				return fmt.Errorf("no attempt at the broken revision yet: %s", operationSummary(st))
			}
			// Attempt k failed at attempts[k]: RetryCount counts the
			// retries scheduled so far, the last failure is final.
			k := st.RetryCount
			if st.Phase == argov1.OperationFailed {
				k++
			}
			if _, seen := attempts[k]; !seen && (st.Phase == argov1.OperationRunning || st.Phase == argov1.OperationFailed) {
				attempts[k] = st.FinishedAt.Time
			}
			if st.Phase != argov1.OperationFailed {
				return fmt.Errorf("%s", operationSummary(st))
			}
			return nil
		})
		st := app.Status.OperationState
		if st.RetryCount != 5 || !strings.Contains(st.Message, "broken") {
			t.Errorf("final operationState %s: want 5 retries and a message naming the broken Deployment", operationSummary(st))
		}
		// Attempt n+1 failed one backoff after attempt n (times have
		// second precision; an attempt takes well under a second).
		for n := int64(1); n <= 5; n++ {
			prev, ok1 := attempts[n]
			cur, ok2 := attempts[n+1]
			if !ok1 || !ok2 {
				t.Errorf("attempts seen %v: missing retry %d or %d", attempts, n, n+1)
				continue
			}
			want := 5 * time.Second << (n - 1)
			if gap := cur.Sub(prev); gap < want-time.Second || gap > want+3*time.Second {
				t.Errorf("retry %d came %s after retry %d, want %s", n+1, gap, n, want)
			}
		}
		if err := get(context.Background(), "production-new-in-broken", &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("an object of the failed revision was applied: %v", err)
		}
	})

	t.Run("a commit that renders nothing deletes nothing and says why", func(t *testing.T) {
		empty := repo.Commit(t, "master", map[string]string{
			"k8s/overlays/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
		}, "render nothing")
		var app argov1.Application
		eventually(t, 30*time.Second, "auto-sync held back", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "advanced-app"}, &app); err != nil {
				return err
			}
			for _, cond := range app.Status.Conditions {
				if cond.Type == argov1.ApplicationConditionSyncError && strings.Contains(cond.Message, "auto-sync will wipe out all resources") &&
					strings.Contains(cond.Message, empty) {
					return nil
				}
			}
			return fmt.Errorf("conditions %+v, sync %s at %.7s", app.Status.Conditions, app.Status.Sync.Status, app.Status.Sync.Revision)
		})
		if app.Status.Sync.Status != argov1.SyncStatusCodeOutOfSync {
			t.Errorf("sync status %s, want OutOfSync", app.Status.Sync.Status)
		}
		time.Sleep(3 * time.Second)
		if err := get(context.Background(), "production-guestbook-ui", &appsv1.Deployment{}); err != nil {
			t.Errorf("the Deployment is gone after an empty render: %v", err)
		}
	})

	t.Run("a good commit syncs again", func(t *testing.T) {
		files := folderFiles(t, "testdata/advanced-app", "")
		for _, f := range []string{"k8s/base/new.yaml", "k8s/base/broken.yaml", "k8s/base/extra.yaml"} {
			files[f] = ""
		}
		good := repo.Commit(t, "master", files, "restore")
		waitApp(t, c, "argocd", "advanced-app", good, "Synced", "Healthy", 30*time.Second)
	})
}

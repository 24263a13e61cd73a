package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// stuckHook is a PreSync Job that no node can run: its sync waits for it
// until the app is deleted.
const stuckHook = `apiVersion: batch/v1
kind: Job
metadata:
  name: stuck-migration
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  backoffLimit: 0
  template:
    spec:
      nodeSelector: {no-such-node: "true"}
      restartPolicy: Never
      containers: [{name: run, image: busybox}]
`

// TestApplicationSyncsDoNotStarveCompares: eight apps whose syncs wait for
// a PreSync hook that never finishes (as many as there are compare
// workers) do not keep a ninth app from being compared and synced within
// seconds: syncs run on a pool of their own. Deleting a waiting app stops
// its sync.
func TestApplicationSyncsDoNotStarveCompares(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "starve")
	head := repo.Commit(t, "master", map[string]string{
		"stuck/hook.yaml": stuckHook,
		"stuck/cm.yaml":   settingsMap("after-the-hook", "x"),
		"quick/cm.yaml":   settingsMap("quick-settings", "x"),
	}, "stuck and quick")
	// --concurrent 4 gives Applications 8 compare workers.
	startTetherOn(t, srv, "--concurrent", "4")
	const stuck = 8
	for i := range stuck {
		name := fmt.Sprintf("stuck-%d", i)
		applyYAML(t, headApp(name, "starve", "HEAD", "stuck", name))
		t.Cleanup(func() { deleteApp(t, c, "argocd", name) })
	}
	eventually(t, 90*time.Second, "eight syncs waiting for their hooks", func(ctx context.Context) error {
		running := 0
		for i := range stuck {
			var app argov1.Application
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: fmt.Sprintf("stuck-%d", i)}, &app); err != nil {
				return err
			}
			if st := app.Status.OperationState; st != nil && st.Phase == argov1.OperationRunning {
				running++
			}
		}
		if running != stuck {
			return fmt.Errorf("%d of %d syncs running", running, stuck)
		}
		return nil
	})

	start := time.Now()
	applyYAML(t, headApp("quick", "starve", "HEAD", "quick", "quick"))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "quick") })
	waitApp(t, c, "argocd", "quick", head, "Synced", "Healthy", 20*time.Second)
	t.Logf("the ninth app was Synced and Healthy %s after it was created", time.Since(start).Round(100*time.Millisecond))
	for i := range stuck {
		var app argov1.Application
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: fmt.Sprintf("stuck-%d", i)}, &app); err != nil {
			t.Fatal(err)
		}
		if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationRunning {
			t.Errorf("stuck-%d: its sync is no longer waiting (%s), so it proves nothing", i, operationSummary(st))
		}
	}
}

// TestApplicationDeletedDuringSync: an app deleted while its sync waits
// (here for a Sync hook in wave 1 that never finishes, after wave 0 was
// applied) stops the sync, records what it applied, and its
// resources-finalizer deletes those objects with it.
func TestApplicationDeletedDuringSync(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "deleted-mid-sync")
	// A Sync hook in wave 1 that no node can run: it waits after the
	// ConfigMap of wave 0 was applied.
	hook := strings.Replace(job("never-done", "Sync", "BeforeHookCreation", ""),
		"  annotations:\n", "  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n", 1)
	hook = strings.Replace(hook, "      restartPolicy: Never\n", "      nodeSelector: {no-such-node: \"true\"}\n      restartPolicy: Never\n", 1)
	repo.Commit(t, "master", map[string]string{
		"app/cm.yaml":   settingsMap("applied-before-the-wait", "x"),
		"app/hook.yaml": hook,
	}, "wave 0 then a stuck hook")
	startTetherOn(t, srv)
	applyYAML(t, strings.Replace(headApp("deleted-mid-sync", "deleted-mid-sync", "HEAD", "app", "deleted-mid-sync"),
		"metadata: {name: deleted-mid-sync, namespace: argocd}",
		"metadata: {name: deleted-mid-sync, namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}", 1))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "deleted-mid-sync") })
	key := types.NamespacedName{Namespace: "deleted-mid-sync", Name: "applied-before-the-wait"}
	eventually(t, 90*time.Second, "wave 0 applied and the sync waiting", func(ctx context.Context) error {
		var app argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "deleted-mid-sync"}, &app); err != nil {
			return err
		}
		if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationRunning {
			return fmt.Errorf("operation %s", operationSummary(st))
		}
		return c.Get(ctx, key, &corev1.ConfigMap{})
	})
	deleteApp(t, c, "argocd", "deleted-mid-sync")
	waitGone(t, c, 30*time.Second, "the ConfigMap the interrupted sync applied is deleted with the app", key.Namespace, key.Name, &corev1.ConfigMap{})
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// helmHookJob is a Job with Helm's hook annotations and a generated name,
// as charts rendered into a folder (helm template > manifests.yaml) carry
// them.
func helmHookJob(prefix, hook string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  generateName: %s-
  annotations:
    helm.sh/hook: %s
    helm.sh/hook-weight: "-1"
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: busybox}]
`, prefix, hook)
}

// TestApplicationHelmHooksInAFolder: a plain-directory app whose Jobs carry
// helm.sh/hook pre-install / post-install and generateName runs them as
// PreSync / PostSync hooks, as Argo CD does in any kind of source: the
// PreSync Job completes before the ConfigMap is created, each sync makes
// new Jobs, and the hooks are not counted among the app's resources.
func TestApplicationHelmHooksInAFolder(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "helm-hooks-folder")
	head := repo.Commit(t, "master", map[string]string{
		"app/pre.yaml":  helmHookJob("pre-install-check", "pre-install,pre-upgrade"),
		"app/post.yaml": helmHookJob("post-install-notify", "post-install"),
		"app/cm.yaml":   settingsMap("hooked-settings", "one"),
	}, "helm hooks")
	startTetherOn(t, srv)
	applyYAML(t, headApp("helm-hooks-folder", "helm-hooks-folder", "HEAD", "app", "helm-hooks-folder"))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "helm-hooks-folder") })

	app := waitApp(t, c, "argocd", "helm-hooks-folder", head, "Synced", "Healthy", 90*time.Second)
	var pre, post *argov1.ResourceResult
	for i, r := range app.Status.OperationState.SyncResult.Resources {
		switch {
		case strings.HasPrefix(r.Name, "pre-install-check-"):
			pre = &app.Status.OperationState.SyncResult.Resources[i]
		case strings.HasPrefix(r.Name, "post-install-notify-"):
			post = &app.Status.OperationState.SyncResult.Resources[i]
		}
	}
	if pre == nil || pre.HookType != argov1.HookTypePreSync || pre.HookPhase != argov1.OperationSucceeded {
		t.Fatalf("pre-install Job as a PreSync hook: %+v (results %+v)", pre, app.Status.OperationState.SyncResult.Resources)
	}
	if post == nil || post.HookType != argov1.HookTypePostSync || post.HookPhase != argov1.OperationSucceeded {
		t.Fatalf("post-install Job as a PostSync hook: %+v", post)
	}
	var job batchv1.Job
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "helm-hooks-folder", Name: pre.Name}, &job); err != nil {
		t.Fatalf("the PreSync Job %s: %v", pre.Name, err)
	}
	var cm corev1.ConfigMap
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "helm-hooks-folder", Name: "hooked-settings"}, &cm); err != nil {
		t.Fatal(err)
	}
	if job.Status.CompletionTime == nil || cm.CreationTimestamp.Before(job.Status.CompletionTime) {
		t.Errorf("ConfigMap created at %s, PreSync Job completed at %v", cm.CreationTimestamp, job.Status.CompletionTime)
	}
	for _, r := range app.Status.Resources {
		if r.Kind == "Job" {
			t.Errorf("hook %s listed among the app's resources", r.Name)
		}
	}

	second := repo.Commit(t, "master", map[string]string{"app/cm.yaml": settingsMap("hooked-settings", "two")}, "upgrade")
	app = waitApp(t, c, "argocd", "helm-hooks-folder", second, "Synced", "Healthy", 60*time.Second)
	names := 0
	for _, r := range app.Status.OperationState.SyncResult.Resources {
		if strings.HasPrefix(r.Name, "pre-install-check-") && r.Name != pre.Name && r.HookPhase == argov1.OperationSucceeded {
			names++
		}
	}
	if names != 1 {
		t.Errorf("the second sync did not run a new pre-upgrade Job: %+v", app.Status.OperationState.SyncResult.Resources)
	}
}

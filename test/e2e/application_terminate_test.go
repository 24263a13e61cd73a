package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// manualApp is an Application of path in repository repo without
// automated sync: only an operation syncs it.
func manualApp(name, repo, path, namespace string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example.com/%s.git", targetRevision: HEAD, path: %s}
  destination: {server: "https://kubernetes.default.svc", namespace: %s}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
`, name, repo, path, namespace)
}

// TestApplicationTerminate: `argocd app terminate-op` through the API
// (DELETE /api/v1/applications/{name}/operation) stops a sync that waits
// for a PreSync hook that never completes. The operation ends Failed,
// "Operation terminated", within seconds, with the hook's result kept and
// the hook left as it is; the Sync phase is never applied, and neither the
// operation's retry strategy nor a later reconcile runs it again. An
// operation found Terminating with nothing running (here: written before
// Tether started) ends the same way without running anything, and
// terminating when nothing runs answers Argo CD's 400.
func TestApplicationTerminate(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "terminate")
	repo.Commit(t, "master", map[string]string{
		"app/hook.yaml": stuckHook,
		"app/cm.yaml":   settingsMap("after-the-hook", "x"),
	}, "a PreSync hook that never completes, then a ConfigMap")
	const name, idle = "terminate-hook", "terminate-idle"
	applyYAML(t, manualApp(name, "terminate", "app", name))
	applyYAML(t, manualApp(idle, "terminate", "app", idle))
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", name)
		deleteApp(t, c, "argocd", idle)
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "stuck-migration"}}
		_ = c.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))
	})
	// An operation asked to stop while no Tether ran it.
	var app argov1.Application
	if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: idle}, &app); err != nil {
		t.Fatal(err)
	}
	app.Status.OperationState = &argov1.OperationState{Phase: argov1.OperationTerminating, StartedAt: metav1.Now(),
		Operation: argov1.Operation{Sync: &argov1.SyncOperation{Revision: "HEAD"}, InitiatedBy: argov1.OperationInitiator{Username: "admin"}}}
	if err := c.Status().Update(ctx, &app); err != nil {
		t.Fatalf("write a Terminating operation: %v", err)
	}

	tether := startTetherOn(t, srv)
	api, admin := adminSession(t, c, tether)
	terminatePath := "/api/v1/applications/" + name + "/operation"

	// Nothing runs yet: Argo CD's refusal.
	if status, body, _ := api.do("DELETE", terminatePath, admin, nil); status != http.StatusBadRequest ||
		!strings.Contains(string(body), "No operation is in progress") {
		t.Errorf("terminate with no operation: %d %s, want 400 No operation is in progress", status, body)
	}

	idleState := waitOperationEnd(t, c, idle, 30*time.Second)
	if idleState.Phase != argov1.OperationFailed || idleState.Message != "Operation terminated" {
		t.Errorf("%s: operation %s, want Failed: Operation terminated", idle, operationSummary(idleState))
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: idle, Name: "stuck-migration"}, &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s: the terminated operation created its hook (get: %v)", idle, err)
	}

	// A sync with retries left, waiting for its PreSync hook.
	api.expect("POST", "/api/v1/applications/"+name+"/sync", admin,
		map[string]any{"retryStrategy": map[string]any{"limit": 3, "backoff": map[string]any{"duration": "1s"}}}, http.StatusOK)
	hook := types.NamespacedName{Namespace: name, Name: "stuck-migration"}
	eventually(t, 90*time.Second, "the sync waiting for its PreSync hook", func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, &app); err != nil {
			return err
		}
		if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationRunning {
			return fmt.Errorf("operation %s", operationSummary(st))
		}
		return c.Get(ctx, hook, &batchv1.Job{})
	})

	asked := time.Now()
	if out := api.expect("DELETE", terminatePath, admin, nil, http.StatusOK); strings.TrimSpace(string(out)) != "{}" {
		t.Errorf("terminate answered %s, want Argo CD's empty OperationTerminateResponse {}", out)
	}
	st := waitOperationEnd(t, c, name, 5*time.Second)
	t.Logf("terminated %s after it was asked", time.Since(asked).Round(100*time.Millisecond))
	if st.Phase != argov1.OperationFailed || st.Message != "Operation terminated" || st.FinishedAt == nil {
		t.Fatalf("operation %s (finished %v), want Failed: Operation terminated", operationSummary(st), st.FinishedAt)
	}
	if st.RetryCount != 0 {
		t.Errorf("retry count %d: a terminated operation is no failed attempt", st.RetryCount)
	}
	if !hasHookResult(st, "stuck-migration") {
		t.Errorf("results %+v lack the PreSync hook that ran", st.SyncResult)
	}

	// Nothing runs again: not the retry strategy, not a later reconcile
	// (apps are compared every 2 s).
	started := st.StartedAt
	time.Sleep(10 * time.Second)
	if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, &app); err != nil {
		t.Fatal(err)
	}
	if now := app.Status.OperationState; now == nil || !now.StartedAt.Equal(&started) || now.Phase != argov1.OperationFailed || now.Message != "Operation terminated" {
		t.Errorf("10 s later the operation is %s (%+v; it started at %v): it ran again", operationSummary(now), now, started)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: name, Name: "after-the-hook"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Sync phase after the terminated hook was applied (get: %v)", err)
	}
	if err := c.Get(ctx, hook, &batchv1.Job{}); err != nil {
		t.Errorf("the hook that ran is not left as it was: %v", err)
	}

	// Ended: nothing to terminate.
	if status, body, _ := api.do("DELETE", terminatePath, admin, nil); status != http.StatusBadRequest {
		t.Errorf("terminate after the end: %d %s, want 400", status, body)
	}
}

// waitOperationEnd waits until the operation of Application argocd/name is
// neither Running nor Terminating, and returns it.
func waitOperationEnd(t *testing.T, c client.Client, name string, timeout time.Duration) *argov1.OperationState {
	t.Helper()
	var st *argov1.OperationState
	eventually(t, timeout, "the operation of "+name+" ended", func(ctx context.Context) error {
		var app argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, &app); err != nil {
			return err
		}
		st = app.Status.OperationState
		if st == nil || st.Phase == argov1.OperationRunning || st.Phase == argov1.OperationTerminating {
			return fmt.Errorf("operation %s", operationSummary(st))
		}
		return nil
	})
	return st
}

// hasHookResult reports whether the sync result records hook name.
func hasHookResult(st *argov1.OperationState, name string) bool {
	if st.SyncResult == nil {
		return false
	}
	for _, r := range st.SyncResult.Resources {
		if r.Name == name && r.HookType == argov1.HookTypePreSync {
			return true
		}
	}
	return false
}

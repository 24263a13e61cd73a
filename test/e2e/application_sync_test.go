package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

func job(name, hook, policy, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations:
    argocd.argoproj.io/hook: %s
    argocd.argoproj.io/hook-delete-policy: %s
spec:
  backoffLimit: 0
%s  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: busybox}]
`, name, hook, policy, extraSpec)
}

func configMap(name, annotations string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  annotations: {%s}\ndata:\n  a: b\n", name, annotations)
}

// appYAML is an Application of path in the test repository, deployed to
// namespace ns.
func appYAML(name, path, ns, extra string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/sync-features.git
    targetRevision: HEAD
    path: %s
  destination:
    server: https://kubernetes.default.svc
    namespace: %s
%s`, name, path, ns, extra)
}

const automatedSync = `  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`

// TestApplicationWavesAndHooks: a PreSync Job completes before wave 0,
// waves run in order and wait for health, a PostSync hook runs last and is
// deleted on success; a failing hook fails the sync and runs SyncFail hooks.
func TestApplicationWavesAndHooks(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "sync-features")
	head := repo.Commit(t, "master", map[string]string{
		"waves/pre.yaml":  job("pre-migrate", "PreSync", "BeforeHookCreation", ""),
		"waves/a.yaml":    configMap("wave-0", ""),
		"waves/b.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
		"waves/c.yaml":    configMap("wave-2", `argocd.argoproj.io/sync-wave: "2"`),
		"waves/post.yaml": job("post-check", "PostSync", "HookSucceeded", ""),
	}, "waves and hooks")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/sync-features.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	applyYAML(t, appYAML("waves", "waves", "waves", automatedSync))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "waves") })
	get := func(ctx context.Context, name string, obj client.Object) error {
		return c.Get(ctx, types.NamespacedName{Namespace: "waves", Name: name}, obj)
	}

	t.Run("PreSync before wave 0, waves in order, PostSync last", func(t *testing.T) {
		app := waitApp(t, c, "argocd", "waves", head, "Synced", "Healthy", 90*time.Second)
		var order []string
		for _, r := range app.Status.OperationState.SyncResult.Resources {
			order = append(order, r.Name)
			if r.HookType != "" && r.HookPhase != argov1.OperationSucceeded {
				t.Errorf("hook %s: phase %s (%s)", r.Name, r.HookPhase, r.Message)
			}
		}
		if got := strings.Join(order, ","); got != "pre-migrate,wave-0,web,wave-2,post-check" {
			t.Errorf("sync order %s", got)
		}
		// The engine's typed progress events tell the same story, in order.
		eventually(t, 10*time.Second, "progress events in order", func(context.Context) error {
			return inOrder(progressOf(tether.Logs.String(), "Application/argocd/waves"),
				"PreSync/0 hook Running Job/waves/pre-migrate",
				"PreSync/0 hook Succeeded Job/waves/pre-migrate",
				"Sync/0 apply Succeeded ConfigMap/waves/wave-0",
				"Sync/1 apply Succeeded Deployment/waves/web",
				"Sync/2 apply Succeeded ConfigMap/waves/wave-2",
				"PostSync/0 hook Running Job/waves/post-check",
				"PostSync/0 hook Succeeded Job/waves/post-check",
				"PostSync/0 sync Succeeded -")
		})
		var pre batchv1.Job
		if err := get(context.Background(), "pre-migrate", &pre); err != nil {
			t.Fatal(err)
		}
		var w0 corev1.ConfigMap
		if err := get(context.Background(), "wave-0", &w0); err != nil {
			t.Fatal(err)
		}
		if pre.Status.CompletionTime == nil || w0.CreationTimestamp.Before(pre.Status.CompletionTime) {
			t.Errorf("wave 0 created at %s, PreSync Job completed at %v", w0.CreationTimestamp, pre.Status.CompletionTime)
		}
		var web appsv1.Deployment
		var w2 corev1.ConfigMap
		if err := get(context.Background(), "web", &web); err != nil {
			t.Fatal(err)
		}
		if err := get(context.Background(), "wave-2", &w2); err != nil {
			t.Fatal(err)
		}
		for _, cond := range web.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && w2.CreationTimestamp.Before(&cond.LastTransitionTime) {
				t.Errorf("wave 2 created at %s before wave 1's Deployment was available (%s)", w2.CreationTimestamp, cond.LastTransitionTime)
			}
		}
		eventually(t, 10*time.Second, "PostSync hook deleted after success", func(ctx context.Context) error {
			if err := get(ctx, "post-check", &batchv1.Job{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
		for _, r := range app.Status.Resources {
			if r.Name == "pre-migrate" || r.Name == "post-check" {
				t.Errorf("hook %s listed among the app's resources", r.Name)
			}
		}
	})

	t.Run("a failing hook fails the sync and runs SyncFail hooks", func(t *testing.T) {
		bad := repo.Commit(t, "master", map[string]string{
			"waves/doomed.yaml": job("doomed", "Sync", "BeforeHookCreation",
				"  activeDeadlineSeconds: 1\n  template:\n    spec:\n      nodeSelector: {no-such-node: \"true\"}\n      restartPolicy: Never\n      containers: [{name: run, image: busybox}]\n"),
			"waves/on-fail.yaml": configMap("sync-failed", "argocd.argoproj.io/hook: SyncFail"),
			"waves/c.yaml":       configMap("wave-2", `argocd.argoproj.io/sync-wave: "2", changed: "yes"`),
		}, "a hook that fails")
		var app argov1.Application
		eventually(t, 60*time.Second, "sync failed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "waves"}, &app); err != nil {
				return err
			}
			st := app.Status.OperationState
			if st == nil || st.SyncResult == nil || st.SyncResult.Revision != bad || st.Phase != argov1.OperationFailed {
				return fmt.Errorf("%s", operationSummary(st))
			}
			return nil
		})
		if msg := app.Status.OperationState.Message; !strings.Contains(msg, "doomed") {
			t.Errorf("message %q does not name the failed hook", msg)
		}
		if err := get(context.Background(), "sync-failed", &corev1.ConfigMap{}); err != nil {
			t.Errorf("SyncFail hook not run: %v", err)
		}
		for _, r := range app.Status.OperationState.SyncResult.Resources {
			if r.Name == "post-check" {
				t.Errorf("PostSync hook ran after a failed sync: %+v", r)
			}
		}
		var w2 corev1.ConfigMap
		if err := get(context.Background(), "wave-2", &w2); err != nil || w2.Annotations["changed"] == "yes" {
			t.Errorf("wave 2 applied after a failed wave 0 hook: %v %v", w2.Annotations, err)
		}
	})
}

// TestApplicationManualSyncRollbackAndRefresh syncs through the operation
// field as the argocd CLI writes it, rolls back to a history id, and
// handles the refresh annotation.
func TestApplicationManualSyncRollbackAndRefresh(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "sync-features")
	v1 := repo.Commit(t, "master", map[string]string{"manual/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  version: one\n"}, "v1")
	startTether(t, "--url-rewrite", "https://git.example.com/sync-features.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	applyYAML(t, appYAML("manual", "manual", "guestbook", ""))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "manual") })
	version := func() string {
		var cm corev1.ConfigMap
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "guestbook", Name: "settings"}, &cm); err != nil {
			return err.Error()
		}
		return cm.Data["version"]
	}
	syncTo := func(t *testing.T, body string) {
		t.Helper()
		app := &argov1.Application{}
		app.Namespace, app.Name = "argocd", "manual"
		if err := c.Patch(context.Background(), app, client.RawPatch(types.MergePatchType, []byte(body))); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("without automated sync the app is OutOfSync and Missing, nothing applied", func(t *testing.T) {
		waitApp(t, c, "argocd", "manual", v1, "OutOfSync", "Missing", 60*time.Second)
		if v := version(); !strings.Contains(v, "not found") {
			t.Errorf("ConfigMap exists before any sync: %s", v)
		}
	})

	t.Run("a sync written to operation runs and is cleared", func(t *testing.T) {
		syncTo(t, `{"operation":{"initiatedBy":{"username":"admin"},"sync":{"revision":"HEAD","prune":true}}}`)
		app := waitApp(t, c, "argocd", "manual", v1, "Synced", "Healthy", 30*time.Second)
		eventually(t, 10*time.Second, "operation cleared", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "manual"}, app); err != nil {
				return err
			}
			if app.Operation != nil {
				return fmt.Errorf("operation still set: %+v", app.Operation)
			}
			return nil
		})
		st := app.Status.OperationState
		if st.Phase != argov1.OperationSucceeded || st.Operation.InitiatedBy.Username != "admin" || len(app.Status.History) != 1 {
			t.Errorf("operationState %s by %+v, history %d", operationSummary(st), st.Operation.InitiatedBy, len(app.Status.History))
		}
		if v := version(); v != "one" {
			t.Errorf("version %s", v)
		}
	})

	t.Run("rollback to history id 0", func(t *testing.T) {
		v2 := repo.Commit(t, "master", map[string]string{"manual/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  version: two\n"}, "v2")
		waitApp(t, c, "argocd", "manual", v2, "OutOfSync", "Healthy", 30*time.Second)
		syncTo(t, `{"operation":{"initiatedBy":{"username":"admin"},"sync":{"revision":"`+v2+`"}}}`)
		app := waitApp(t, c, "argocd", "manual", v2, "Synced", "Healthy", 30*time.Second)
		if v := version(); v != "two" {
			t.Fatalf("version %s after syncing v2", v)
		}
		first := app.Status.History[0]
		syncTo(t, fmt.Sprintf(`{"operation":{"initiatedBy":{"username":"admin"},"sync":{"revision":%q,"source":{"repoURL":%q,"path":%q,"targetRevision":%q}}}}`,
			first.Revision, first.Source.RepoURL, first.Source.Path, first.Source.TargetRevision))
		eventually(t, 30*time.Second, "rolled back", func(ctx context.Context) error {
			if v := version(); v != "one" {
				var app argov1.Application
				_ = c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "manual"}, &app)
				return fmt.Errorf("version %s; operation %s", v, operationSummary(app.Status.OperationState))
			}
			return nil
		})
		app = waitApp(t, c, "argocd", "manual", v2, "OutOfSync", "Healthy", 30*time.Second)
		if n := len(app.Status.History); n != 3 || app.Status.History[n-1].Revision != v1 {
			t.Errorf("history %+v, want the rollback to %s last", app.Status.History, v1)
		}
	})

	t.Run("local manifests in a sync are refused (CVE-2023-50726)", func(t *testing.T) {
		syncTo(t, `{"operation":{"initiatedBy":{"username":"admin"},"sync":{"manifests":["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smuggled\ndata:\n  a: b\n"]}}}`)
		var app argov1.Application
		eventually(t, 20*time.Second, "local sync refused", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "manual"}, &app); err != nil {
				return err
			}
			st := app.Status.OperationState
			if app.Operation != nil || st == nil || st.Phase != argov1.OperationError || !strings.Contains(st.Message, "local manifests are refused") {
				return fmt.Errorf("operation %v, state %s", app.Operation != nil, operationSummary(st))
			}
			return nil
		})
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "guestbook", Name: "smuggled"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("a local manifest was applied: %v", err)
		}
	})

	t.Run("a selective sync applies the named object only and records no history", func(t *testing.T) {
		var app argov1.Application
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "manual"}, &app); err != nil {
			t.Fatal(err)
		}
		history := len(app.Status.History)
		syncTo(t, `{"operation":{"initiatedBy":{"username":"admin"},"sync":{"resources":[{"kind":"ConfigMap","name":"settings"}]}}}`)
		eventually(t, 20*time.Second, "selective sync", func(ctx context.Context) error {
			if v := version(); v != "two" {
				return fmt.Errorf("version %s", v)
			}
			return nil
		})
		app = *waitApp(t, c, "argocd", "manual", "", "Synced", "Healthy", 20*time.Second)
		if len(app.Status.History) != history {
			t.Errorf("history grew from %d to %d after a selective sync", history, len(app.Status.History))
		}
	})

	t.Run("the refresh annotation is handled and removed", func(t *testing.T) {
		var app argov1.Application
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "manual"}, &app); err != nil {
			t.Fatal(err)
		}
		before := app.Status.ReconciledAt.Time
		time.Sleep(1100 * time.Millisecond) // reconciledAt has second precision
		syncTo(t, `{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`)
		eventually(t, 10*time.Second, "refresh annotation removed", func(ctx context.Context) error {
			var app argov1.Application
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "manual"}, &app); err != nil {
				return err
			}
			if _, ok := app.Annotations[argov1.AnnotationKeyRefresh]; ok {
				return fmt.Errorf("annotation still there")
			}
			return nil
		})
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "manual"}, &app); err != nil {
			t.Fatal(err)
		}
		if !app.Status.ReconciledAt.After(before) {
			t.Errorf("reconciledAt %s not moved by the refresh (was %s)", app.Status.ReconciledAt, before)
		}
	})
}

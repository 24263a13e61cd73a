package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// cliGuestbookRepo is the URL the CLI test's apps name (rewritten to the
// loopback Git server).
const cliGuestbookRepo = "https://github.com/argoproj/argocd-example-apps.git"

// stuckDeployment never becomes available: no node matches its selector.
const stuckDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: never-ready
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  selector:
    matchLabels: {app: never-ready}
  template:
    metadata:
      labels: {app: never-ready}
    spec:
      nodeSelector: {tether.example/no-such-node: "true"}
      containers:
      - name: main
        image: example.com/never:1
`

// TestCLIArgoHabits drives Applications with the built binary as a CI job
// would: login, create, sync --prune, wait --health, get, diff, history,
// rollback, manifests, resources, set, delete; a read-only user is
// refused; a Deployment that never becomes available makes wait fail
// naming it; and the same through a link named argocd and with --core.
func TestCLIArgoHabits(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "argocd-example-apps")
	files := guestbookFiles(t)
	files["stuck/deployment.yaml"] = stuckDeployment
	files["hooked/hook.yaml"] = stuckHook
	files["hooked/cm.yaml"] = settingsMap("after-the-hook", "x")
	first := repo.Commit(t, "master", files, "guestbook")
	tether := startTether(t, "--url-rewrite", cliGuestbookRepo+"="+repo.URL, "--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	server, password := cliServer(t, c, tether)
	cli := newCLI(t)
	const app = "guestbook-cli"
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", app)
		deleteApp(t, c, "argocd", "stuck-cli")
		deleteApp(t, c, "argocd", "hooked-cli")
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "cli-hooked", Name: "stuck-migration"}}
		_ = c.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))
	})

	t.Run("login saves a context with mode 0600", func(t *testing.T) {
		out := cli.ok("tether", "login", server, "--username", "admin", "--password", password, "--insecure")
		if !strings.Contains(out, "'admin' logged in successfully") {
			t.Errorf("login said %q", out)
		}
		info, err := os.Stat(filepath.Join(cli.home, ".config", "tether", "config"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("config file: %v, mode %v", err, info)
		}
		if out := cli.ok("tether", "context"); !strings.Contains(out, "*") || !strings.Contains(out, server) {
			t.Errorf("context list %q", out)
		}
		res := cli.run("tether", "login", server, "--username", "admin", "--password", "wrong", "--insecure", "--name", "bad")
		if res.code == 0 || !strings.Contains(res.stderr, "Invalid username or password") && !strings.Contains(res.stderr, "invalid") {
			t.Errorf("a wrong password: exit %d, %q", res.code, res.stderr)
		}
	})

	var created string
	t.Run("create -o json, then sync --prune and wait --health exit 0", func(t *testing.T) {
		created = cli.ok("tether", "app", "create", app, "--repo", cliGuestbookRepo, "--path", "guestbook",
			"--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "cli-guestbook",
			"--sync-option", "CreateNamespace=true", "-o", "json")
		if out := cli.ok("tether", "app", "list"); !strings.Contains(out, "argocd/"+app) {
			t.Errorf("app list lacks the app: %s", out)
		}
		cli.ok("tether", "app", "sync", app, "--prune", "--timeout", "120")
		cli.ok("tether", "app", "wait", app, "--health", "--timeout", "120")
		var got argov1.Application
		if err := json.Unmarshal([]byte(cli.ok("tether", "app", "get", app, "-o", "json")), &got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Sync.Status != argov1.SyncStatusCodeSynced || got.Status.Health.Status != argov1.HealthStatusHealthy || got.Status.Sync.Revision != first {
			t.Errorf("after sync and wait: %s/%s at %s", got.Status.Sync.Status, got.Status.Health.Status, got.Status.Sync.Revision)
		}
		get := cli.ok("tether", "app", "get", app)
		for _, want := range []string{"Sync Status:", "Synced to " + first, "Healthy", "guestbook-ui", "Deployment"} {
			if !strings.Contains(get, want) {
				t.Errorf("app get lacks %q:\n%s", want, get)
			}
		}
		res := cli.ok("tether", "app", "resources", app)
		if !strings.Contains(res, "Service") || !strings.Contains(res, "guestbook-ui") {
			t.Errorf("resources %q", res)
		}
		man := cli.ok("tether", "app", "manifests", app)
		if strings.Count(man, "kind:") < 2 || !strings.Contains(man, "kind: Deployment") {
			t.Errorf("manifests %q", man)
		}
		live := cli.ok("tether", "app", "manifests", app, "--source", "live")
		if !strings.Contains(live, "kind: Deployment") || !strings.Contains(live, "availableReplicas") {
			t.Errorf("live manifests %q", live)
		}
		hist := cli.ok("tether", "app", "history", app)
		if !strings.Contains(hist, first) {
			t.Errorf("history %q", hist)
		}
	})

	t.Run("shell completion names apps from the server", func(t *testing.T) {
		if out := cli.ok("tether", "__complete", "app", "sync", "guestbook-"); !strings.Contains(out, app+"\n") {
			t.Errorf("completion of app sync guestbook-: %q", out)
		}
		for _, shell := range []string{"bash", "zsh", "fish"} {
			if out := cli.ok("tether", "completion", shell); !strings.Contains(out, "__complete") {
				t.Errorf("%s completion script lacks dynamic completion", shell)
			}
		}
	})

	t.Run("-o json of create and set applies back with server-side apply", func(t *testing.T) {
		set := cli.ok("tether", "app", "set", app, "--label", "team=cli", "-o", "yaml")
		for _, doc := range []string{created, set} {
			objs := applyYAML(t, doc) // YAML is a superset of JSON
			if len(objs) != 1 || objs[0].GetKind() != "Application" || objs[0].GetName() != app {
				t.Errorf("applied back %v", objs)
			}
		}
		var got argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: app}, &got); err != nil || got.Labels["team"] != "cli" {
			t.Errorf("label after set: %v (%v)", got.Labels, err)
		}
	})

	t.Run("diff exits 1 naming a changed Deployment, 0 when equal", func(t *testing.T) {
		if res := cli.run("tether", "app", "diff", app); res.code != 0 {
			t.Fatalf("diff of a synced app exited %d", res.code)
		}
		var dep appsv1.Deployment
		key := types.NamespacedName{Namespace: "cli-guestbook", Name: "guestbook-ui"}
		if err := c.Get(ctx, key, &dep); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(dep.DeepCopy())
		dep.Spec.Template.Spec.Containers[0].Image = "example.com/edited:9"
		if err := c.Patch(ctx, &dep, patch); err != nil {
			t.Fatal(err)
		}
		res := cli.run("tether", "app", "diff", app, "--refresh")
		if res.code != 1 || !strings.Contains(res.stdout, "apps/Deployment cli-guestbook/guestbook-ui") || !strings.Contains(res.stdout, "example.com/edited:9") {
			t.Errorf("diff: exit %d\n%s", res.code, res.stdout)
		}
		cli.ok("tether", "app", "sync", app, "--timeout", "120")
	})

	t.Run("rollback goes back to the previous deployment", func(t *testing.T) {
		files["guestbook/guestbook-ui-deployment.yaml"] = strings.Replace(files["guestbook/guestbook-ui-deployment.yaml"],
			"ks-guestbook-demo:0.2", "ks-guestbook-demo:0.3", 1)
		second := repo.Commit(t, "master", files, "v0.3")
		cli.ok("tether", "app", "get", app, "--refresh")
		cli.ok("tether", "app", "sync", app, "--timeout", "120")
		if img := guestbookImage(t, c); img != "gcr.io/heptio-images/ks-guestbook-demo:0.3" {
			t.Fatalf("after syncing %s the image is %s", second, img)
		}
		cli.ok("tether", "app", "rollback", app, "--timeout", "120")
		if img := guestbookImage(t, c); img != "gcr.io/heptio-images/ks-guestbook-demo:0.2" {
			t.Errorf("after rollback the image is %s", img)
		}
		ids := strings.Fields(cli.ok("tether", "app", "history", app, "-o", "id"))
		if len(ids) < 3 {
			t.Errorf("history ids %v, want at least 3", ids)
		}
	})

	t.Run("a read-only user's sync is refused and changes nothing", func(t *testing.T) {
		cli.ok("tether", "login", server, "--username", "carol", "--password", "carol-password", "--insecure", "--name", "carol")
		var before argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: app}, &before); err != nil {
			t.Fatal(err)
		}
		res := cli.run("tether", "app", "sync", app, "--argocd-context", "carol")
		if res.code == 0 || !strings.Contains(res.stderr, "permission denied") {
			t.Errorf("read-only sync: exit %d, %q", res.code, res.stderr)
		}
		var after argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: app}, &after); err != nil {
			t.Fatal(err)
		}
		if after.Operation != nil || !after.Status.OperationState.StartedAt.Equal(&before.Status.OperationState.StartedAt) {
			t.Errorf("a refused sync recorded an operation: %+v", after.Operation)
		}
		// carol may still read.
		cli.ok("tether", "app", "get", app, "--argocd-context", "carol")
		if res := cli.run("tether", "context", "no-such-context"); res.code == 0 {
			t.Errorf("switching to an unknown context exited 0")
		}
		cli.ok("tether", "context", server) // back to admin
	})

	t.Run("wait --health fails within its timeout naming a Deployment that never becomes available", func(t *testing.T) {
		cli.ok("tether", "app", "create", "stuck-cli", "--repo", cliGuestbookRepo, "--path", "stuck",
			"--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "cli-stuck", "--sync-option", "CreateNamespace=true")
		cli.ok("tether", "app", "sync", "stuck-cli", "--async")
		start := time.Now()
		res := cli.run("tether", "app", "wait", "stuck-cli", "--health", "--timeout", "30")
		if res.code == 0 || !strings.Contains(res.stderr, "Deployment cli-stuck/never-ready") || !strings.Contains(res.stderr, "timed out") {
			t.Errorf("wait: exit %d, %q", res.code, res.stderr)
		}
		if took := time.Since(start); took > 60*time.Second {
			t.Errorf("wait --timeout 30 took %v", took)
		}
	})

	t.Run("terminate-op stops a sync waiting for a hook", func(t *testing.T) {
		cli.ok("tether", "app", "create", "hooked-cli", "--repo", cliGuestbookRepo, "--path", "hooked",
			"--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "cli-hooked", "--sync-option", "CreateNamespace=true")
		if res := cli.run("tether", "app", "terminate-op", "hooked-cli"); res.code == 0 || !strings.Contains(res.stderr, "No operation is in progress") {
			t.Errorf("terminate-op with nothing running: exit %d, %q", res.code, res.stderr)
		}
		cli.ok("tether", "app", "sync", "hooked-cli", "--async")
		eventually(t, 30*time.Second, "the sync waits for its hook", func(ctx context.Context) error {
			var a argov1.Application
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "hooked-cli"}, &a); err != nil {
				return err
			}
			if st := a.Status.OperationState; st == nil || st.Phase != argov1.OperationRunning {
				return fmt.Errorf("operation %s", operationSummary(st))
			}
			return nil
		})
		cli.ok("tether", "app", "terminate-op", "hooked-cli")
		res := cli.run("tether", "app", "wait", "hooked-cli", "--operation", "--timeout", "30")
		if res.code == 0 || !strings.Contains(res.stderr, "Operation terminated") {
			t.Errorf("wait after terminate-op: exit %d, %q", res.code, res.stderr)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "cli-hooked", Name: "after-the-hook"}, &cm); err == nil {
			t.Errorf("the Sync phase ran after terminate-op")
		}
	})

	t.Run("events of an Application", func(t *testing.T) {
		out := cli.ok("tether", "events", "--for", "Application/"+app)
		if !strings.Contains(out, "OperationCompleted") || !strings.Contains(out, "Application/"+app) {
			t.Errorf("events:\n%s", out)
		}
	})

	t.Run("through a link named argocd", func(t *testing.T) {
		cli.ok("argocd", "login", server, "--username", "admin", "--password", password, "--insecure", "--grpc-web")
		cli.ok("argocd", "app", "sync", app, "--prune")
		cli.ok("argocd", "app", "wait", app, "--health", "--timeout", "60")
		if out := cli.ok("argocd", "app", "list", "-o", "name"); !strings.Contains(out, "argocd/"+app) {
			t.Errorf("argocd app list -o name %q", out)
		}
	})

	t.Run("--core talks to the cluster with the user's kubeconfig", func(t *testing.T) {
		if out := cli.ok("tether", "app", "list", "--core"); !strings.Contains(out, app) || !strings.Contains(out, "Synced") {
			t.Errorf("--core list %q", out)
		}
		cli.ok("tether", "app", "sync", app, "--core", "--timeout", "120")
		cli.ok("tether", "app", "wait", app, "--core", "--health", "--sync", "--timeout", "60")
	})

	t.Run("delete --cascade removes the app and what it deployed", func(t *testing.T) {
		cli.ok("tether", "app", "delete", app, "-y", "--wait", "--timeout", "120")
		eventually(t, 60*time.Second, "guestbook-ui gone", func(ctx context.Context) error {
			var dep appsv1.Deployment
			if err := c.Get(ctx, types.NamespacedName{Namespace: "cli-guestbook", Name: "guestbook-ui"}, &dep); err == nil {
				return fmt.Errorf("still there")
			}
			return nil
		})
		cli.ok("tether", "logout")
	})
}

// guestbookImage is the image of cli-guestbook/guestbook-ui.
func guestbookImage(t *testing.T, c client.Client) string {
	t.Helper()
	var dep appsv1.Deployment
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "cli-guestbook", Name: "guestbook-ui"}, &dep); err != nil {
		t.Fatal(err)
	}
	return dep.Spec.Template.Spec.Containers[0].Image
}

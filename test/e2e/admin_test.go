package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// backupObjects are the GitOps objects of TestAdminExportImport: an
// AppProject, a repository Secret and an Application (Argo CD), a
// GitRepository and a Kustomization with the ConfigMap its substitution
// reads (Flux). %s is the repository's public URL.
const backupObjects = `
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: backup-proj, namespace: argocd}
spec:
  sourceRepos: ['*']
  destinations: [{server: https://kubernetes.default.svc, namespace: backup-apps}]
---
apiVersion: v1
kind: Secret
metadata:
  name: backup-repo
  namespace: argocd
  labels: {argocd.argoproj.io/secret-type: repository}
stringData: {type: git, url: https://github.com/example/backup-config.git}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: backup-web, namespace: argocd}
spec:
  project: backup-proj
  source: {repoURL: https://github.com/example/backup-config.git, targetRevision: main, path: argo}
  destination: {server: https://kubernetes.default.svc, namespace: backup-apps}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
---
apiVersion: v1
kind: Namespace
metadata: {name: backup-flux}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: backup-vars, namespace: backup-flux}
data: {greeting: bonjour}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: backup-src, namespace: backup-flux}
spec:
  interval: 1m
  url: https://github.com/example/backup-config.git
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: backup-ks, namespace: backup-flux}
spec:
  interval: 10m
  prune: true
  path: ./flux
  sourceRef: {kind: GitRepository, name: backup-src}
  targetNamespace: backup-flux
  postBuild:
    substituteFrom: [{kind: ConfigMap, name: backup-vars}]
`

// TestAdminExportImport: the seed's 14-backup.sh runs as written (its
// paths pointed at a temp folder, GitHub mapped to the loopback Git
// server) against a cluster running Tether; `tether admin export` writes
// every GitOps object in one stream, status stripped; `tether admin
// import` restores it into a fresh control plane where the app comes back
// Synced and the Kustomization Ready, refuses a bad stream whole, and,
// into a cluster whose workloads survived the loss of its GitOps objects,
// brings them back without re-creating a workload (same UIDs).
func TestAdminExportImport(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "backup-config")
	head := repo.Commit(t, "main", map[string]string{
		"argo/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: backup-web}
spec:
  replicas: 1
  selector: {matchLabels: {app: backup-web}}
  template:
    metadata: {labels: {app: backup-web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
`,
		"flux/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: backup-greeting}\ndata:\n  greeting: ${greeting}\n",
	}, "backup config")
	mirror := srv.CreateRepo(t, "production-config")
	mirrorHead := mirror.Commit(t, "main", map[string]string{"README.md": "production config\n"}, "first")
	rewrite := []string{"--url-rewrite", "https://github.com/example/backup-config.git=" + repo.URL, "--git-resolve-ttl", "1s"}
	tetherA := startTether(t, rewrite...)
	objs := mustObjects(t, backupObjects)
	applyObjects(t, objs...)
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", "backup-web")
		for _, o := range objs {
			_ = c.Delete(context.Background(), o.DeepCopy())
		}
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "backup-apps"}})
	})
	waitApp(t, c, "argocd", "backup-web", head, "Synced", "Healthy", 90*time.Second)
	waitKustomization(t, c, "backup-flux", "backup-ks", "True", 90*time.Second)

	dir := t.TempDir()
	cli := newCLI(t)

	t.Run("the seed's 14-backup.sh works as written", func(t *testing.T) {
		script, err := os.ReadFile(filepath.Join(seedDir, "14-backup.sh"))
		if err != nil {
			t.Fatal(err)
		}
		backupDir := filepath.Join(dir, "backup")
		if err := os.MkdirAll(backupDir, 0o700); err != nil {
			t.Fatal(err)
		}
		// Only the backup folder changes; the mirror's GitHub URL goes to
		// the loopback server through git's own insteadOf.
		body := strings.Replace(string(script), `BACKUP_DIR="/backup/gitops"`, `BACKUP_DIR="`+backupDir+`"`, 1)
		if body == string(script) {
			t.Fatal("the seed's BACKUP_DIR line changed; update this test")
		}
		bin, err := testenv.BinDir()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", body)
		cmd.Env = append(append([]string{}, cli.env...), "PATH="+bin+":"+os.Getenv("PATH"),
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=url."+strings.TrimSuffix(mirror.URL, "production-config.git")+".insteadOf",
			"GIT_CONFIG_VALUE_0=https://github.com/example/", "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Backup completed at ") {
			t.Fatalf("14-backup.sh: %v\n%s", err, out)
		}
		wants := map[string][]string{
			"applications-*.yaml":   {"name: backup-web", "kind: Application"},
			"appprojects-*.yaml":    {"name: backup-proj"},
			"clusters-*.yaml":       {"kind: List"},
			"flux-resources-*.yaml": {"name: backup-src", "name: backup-ks", "kind: Kustomization"},
		}
		for pattern, want := range wants {
			files, _ := filepath.Glob(filepath.Join(backupDir, pattern))
			if len(files) != 1 {
				t.Fatalf("%s: %v", pattern, files)
			}
			data, _ := os.ReadFile(files[0])
			for _, w := range want {
				if !strings.Contains(string(data), w) {
					t.Errorf("%s does not hold %q", files[0], w)
				}
			}
		}
		mirrors, _ := filepath.Glob(filepath.Join(backupDir, "production-config-*.git"))
		if len(mirrors) != 1 {
			t.Fatalf("mirror: %v", mirrors)
		}
		rev, err := exec.Command("git", "--git-dir", mirrors[0], "rev-parse", "refs/heads/main").Output()
		if err != nil || strings.TrimSpace(string(rev)) != mirrorHead {
			t.Errorf("mirror's main = %q (%v), want %s", rev, err, mirrorHead)
		}
	})

	export := filepath.Join(dir, "export.yaml")
	t.Run("export writes every GitOps object, status and server fields stripped", func(t *testing.T) {
		cli.ok("tether", "admin", "export", "-o", export)
		info, err := os.Stat(export)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("export mode %v, want 0600: it holds Secrets", info.Mode().Perm())
		}
		data, _ := os.ReadFile(export)
		got := string(data)
		for _, want := range []string{"kind: AppProject\nmetadata:\n  name: backup-proj", "name: backup-web", "name: backup-repo",
			"name: backup-vars", "name: backup-src", "name: backup-ks", "name: argocd-secret"} {
			if !strings.Contains(got, want) {
				t.Errorf("export does not hold %q", want)
			}
		}
		for _, never := range []string{"\nstatus:", "uid:", "resourceVersion:", "managedFields:", "name: backup-greeting"} {
			if strings.Contains(got, never) {
				t.Errorf("export holds %q", never)
			}
		}
	})

	t.Run("import restores into a fresh control plane: app Synced, Kustomization Ready", func(t *testing.T) {
		fresh, err := testenv.Start(testenv.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fresh.Stop)
		crds, _ := filepath.Glob("../../config/crd/bases/*.yaml")
		if err := testenv.InstallCRDs(ctx, fresh.Config, crds...); err != nil {
			t.Fatal(err)
		}
		fc, err := fresh.Client()
		if err != nil {
			t.Fatal(err)
		}
		onFresh := newCLI(t)
		onFresh.env = append(onFresh.env, "KUBECONFIG="+fresh.KubeconfigPath)

		// A stream with one bad document is refused whole.
		bad := filepath.Join(dir, "bad.yaml")
		data, _ := os.ReadFile(export)
		broken := string(data) + "---\napiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: backup-bad, namespace: argocd}\nspec: {sourceRepos: 12}\n"
		if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		res := onFresh.run("tether", "admin", "import", "-f", bad)
		if res.code == 0 || !strings.Contains(res.stderr, bad+" (document ") || !strings.Contains(res.stderr, "AppProject/argocd/backup-bad") {
			t.Errorf("bad import exited %d:\n%s", res.code, res.stderr)
		}
		if err := fc.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "backup-proj"}, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject"}}); !apierrors.IsNotFound(err) {
			t.Errorf("the bad import wrote backup-proj: %v", err)
		}
		if err := fc.Get(ctx, types.NamespacedName{Name: "argocd"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("the bad import created Namespace argocd: %v", err)
		}

		out := onFresh.ok("tether", "admin", "import", "--dry-run", "-f", export)
		if !strings.Contains(out, "Application/argocd/backup-web created") || !strings.Contains(out, "nothing was written") {
			t.Errorf("dry run:\n%s", out)
		}
		out = onFresh.ok("tether", "admin", "import", "-f", export)
		for _, want := range []string{"Namespace/argocd created", "AppProject/argocd/backup-proj created", "Application/argocd/backup-web created",
			"Secret/argocd/backup-repo created", "ConfigMap/backup-flux/backup-vars created", "Kustomization/backup-flux/backup-ks created"} {
			if !strings.Contains(out, want) {
				t.Errorf("import does not say %q:\n%s", want, out)
			}
		}
		// Same objects: what the export holds is what the cluster holds.
		for _, o := range objs {
			if o.GetKind() == "Namespace" {
				continue
			}
			compareSpecs(t, c, fc, o)
		}
		testenv.StartTether(t, fresh, rewrite...)
		waitApp(t, fc, "argocd", "backup-web", head, "Synced", "Healthy", 2*time.Minute)
		waitKustomization(t, fc, "backup-flux", "backup-ks", "True", 2*time.Minute)
		var greeting corev1.ConfigMap
		if err := fc.Get(ctx, types.NamespacedName{Namespace: "backup-flux", Name: "backup-greeting"}, &greeting); err != nil || greeting.Data["greeting"] != "bonjour" {
			t.Errorf("the substituted ConfigMap on the fresh cluster: %v, %v", greeting.Data, err)
		}

		// The kubectl backup of 14-backup.sh is an import stream too: the
		// fresh cluster now holds exactly what it says.
		files, _ := filepath.Glob(filepath.Join(dir, "backup", "*.yaml"))
		args := []string{"admin", "import", "--dry-run"}
		for _, f := range files {
			args = append(args, "-f", f)
		}
		out = onFresh.ok("tether", args...)
		for _, want := range []string{"Application/argocd/backup-web unchanged", "AppProject/argocd/backup-proj unchanged", "Kustomization/backup-flux/backup-ks unchanged"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl backup dry run does not say %q:\n%s", want, out)
			}
		}
	})

	t.Run("restored over surviving workloads, nothing is re-created", func(t *testing.T) {
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "backup-apps", Name: "backup-web"}, &dep); err != nil {
			t.Fatal(err)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "backup-flux", Name: "backup-greeting"}, &cm); err != nil {
			t.Fatal(err)
		}
		// The GitOps objects are lost while Tether is down; the workloads stay.
		_ = tetherA.Cmd.Process.Signal(syscall.SIGTERM)
		_ = tetherA.Cmd.Wait()
		for i := len(objs) - 1; i >= 0; i-- {
			o := objs[i]
			if o.GetKind() == "Namespace" {
				continue
			}
			live := o.DeepCopy()
			if err := c.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
				t.Fatal(err)
			}
			live.SetFinalizers(nil)
			if err := c.Update(ctx, live); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, live); err != nil {
				t.Fatal(err)
			}
		}
		// Restore only this test's objects: other tests' leftovers are not
		// this restore's business.
		ours := filepath.Join(dir, "ours.yaml")
		data, _ := os.ReadFile(export)
		var keep []string
		for _, doc := range strings.Split(string(data), "\n---\n") {
			if strings.Contains(doc, "name: backup-") {
				keep = append(keep, doc)
			}
		}
		if err := os.WriteFile(ours, []byte(strings.Join(keep, "\n---\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		cli.ok("tether", "admin", "import", "-f", ours)
		startTether(t, rewrite...)
		waitApp(t, c, "argocd", "backup-web", head, "Synced", "Healthy", 2*time.Minute)
		waitKustomization(t, c, "backup-flux", "backup-ks", "True", 2*time.Minute)
		var depAfter appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "backup-apps", Name: "backup-web"}, &depAfter); err != nil {
			t.Fatal(err)
		}
		var cmAfter corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "backup-flux", Name: "backup-greeting"}, &cmAfter); err != nil {
			t.Fatal(err)
		}
		if depAfter.UID != dep.UID || cmAfter.UID != cm.UID {
			t.Errorf("workloads re-created: Deployment %s -> %s, ConfigMap %s -> %s", dep.UID, depAfter.UID, cm.UID, cmAfter.UID)
		}
	})
}

// compareSpecs checks that want's kind and name hold the same spec (or
// data) in both clusters.
func compareSpecs(t *testing.T, from, to client.Client, want *unstructured.Unstructured) {
	t.Helper()
	get := func(c client.Client) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetGroupVersionKind(want.GroupVersionKind())
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(want), o); err != nil {
			t.Fatalf("%s %s: %v", want.GetKind(), want.GetName(), err)
		}
		return o
	}
	a, b := get(from), get(to)
	for _, field := range []string{"spec", "data"} {
		if !reflect.DeepEqual(a.Object[field], b.Object[field]) {
			t.Errorf("%s %s: %s differs:\n%v\n%v", want.GetKind(), want.GetName(), field, a.Object[field], b.Object[field])
		}
	}
	if !reflect.DeepEqual(a.GetLabels(), b.GetLabels()) {
		t.Errorf("%s %s: labels %v, restored %v", want.GetKind(), want.GetName(), a.GetLabels(), b.GetLabels())
	}
}

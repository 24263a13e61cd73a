package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// startTetherOn runs tether with https://git.example.com/ served by srv,
// listings of a repository reused for 1 s and apps compared every 2 s,
// plus extra flags.
func startTetherOn(t *testing.T, srv *gitserver.Server, extra ...string) *testenv.Tether {
	t.Helper()
	return startTether(t, append([]string{"--url-rewrite", "https://git.example.com/=" + srv.URL + "/",
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s"}, extra...)...)
}

// headApp is an automated Application of path in repository repo; revision
// "-" leaves targetRevision out.
func headApp(name, repo, revision, path, namespace string) string {
	rev := "    targetRevision: " + revision + "\n"
	if revision == "-" {
		rev = ""
	}
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://git.example.com/%s.git
%s    path: %s
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, name, repo, rev, path, namespace)
}

func settingsMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {value: %q}\n", name, value)
}

// configMapValue returns data.value of ConfigMap ns/name, or the error.
func configMapValue(ctx context.Context, c client.Client, ns, name string) (string, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &cm); err != nil {
		return "", err
	}
	return cm.Data["value"], nil
}

// TestApplicationTargetRevisionHEAD: targetRevision HEAD, and none at all,
// follow the branch the remote's HEAD names, as Argo CD does, not Flux's
// default branch "master": on a repository whose default branch is main
// they sync and follow a push to main; on one whose HEAD names develop
// they deploy develop.
func TestApplicationTargetRevisionHEAD(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	mainRepo := srv.CreateRepo(t, "default-main")
	first := mainRepo.Commit(t, "main", map[string]string{"app/cm.yaml": settingsMap("head-settings", "one")}, "first")
	mainRepo.SetDefaultBranch(t, "main")
	devRepo := srv.CreateRepo(t, "default-develop")
	devRepo.Commit(t, "main", map[string]string{"app/cm.yaml": settingsMap("dev-settings", "from main")}, "main")
	devHead := devRepo.Commit(t, "develop", map[string]string{"app/cm.yaml": settingsMap("dev-settings", "from develop")}, "develop")
	devRepo.SetDefaultBranch(t, "develop")

	startTetherOn(t, srv)
	applyYAML(t, headApp("head-explicit", "default-main", "HEAD", "app", "head-explicit")+"---\n"+
		headApp("head-implied", "default-main", "-", "app", "head-implied")+"---\n"+
		headApp("head-develop", "default-develop", "HEAD", "app", "head-develop"))
	for _, name := range []string{"head-explicit", "head-implied", "head-develop"} {
		t.Cleanup(func() { deleteApp(t, c, "argocd", name) })
	}

	t.Run("HEAD and no targetRevision sync the default branch main", func(t *testing.T) {
		for _, name := range []string{"head-explicit", "head-implied"} {
			waitApp(t, c, "argocd", name, first, "Synced", "Healthy", 90*time.Second)
			if v, err := configMapValue(context.Background(), c, name, "head-settings"); err != nil || v != "one" {
				t.Errorf("%s: ConfigMap value %q (err %v), want one", name, v, err)
			}
		}
	})

	t.Run("a push to main moves both", func(t *testing.T) {
		second := mainRepo.Commit(t, "main", map[string]string{"app/cm.yaml": settingsMap("head-settings", "two")}, "second")
		for _, name := range []string{"head-explicit", "head-implied"} {
			waitApp(t, c, "argocd", name, second, "Synced", "Healthy", 60*time.Second)
			if v, err := configMapValue(context.Background(), c, name, "head-settings"); err != nil || v != "two" {
				t.Errorf("%s: ConfigMap value %q (err %v), want two", name, v, err)
			}
		}
	})

	t.Run("a repository whose HEAD names develop deploys develop", func(t *testing.T) {
		waitApp(t, c, "argocd", "head-develop", devHead, "Synced", "Healthy", 90*time.Second)
		if v, err := configMapValue(context.Background(), c, "head-develop", "dev-settings"); err != nil || v != "from develop" {
			t.Errorf("ConfigMap value %q (err %v), want the develop branch's", v, err)
		}
	})
}

// rbacWithColons is a ClusterRole and a RoleBinding whose names carry
// colons, as charts name "system:..." roles.
func rbacWithColons(prefix, namespace string) string {
	return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:%[1]s:reader"}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "system:%[1]s:binding", namespace: %[2]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:%[1]s:reader"}
subjects: [{kind: ServiceAccount, name: default, namespace: %[2]s}]
`, prefix, namespace)
}

// rbacUIDs returns the UIDs of the ClusterRole and RoleBinding of
// rbacWithColons.
func rbacUIDs(ctx context.Context, c client.Client, prefix, namespace string) (string, error) {
	var role rbacv1.ClusterRole
	if err := c.Get(ctx, types.NamespacedName{Name: "system:" + prefix + ":reader"}, &role); err != nil {
		return "", err
	}
	var binding rbacv1.RoleBinding
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "system:" + prefix + ":binding"}, &binding); err != nil {
		return "", err
	}
	return string(role.UID) + "," + string(binding.UID), nil
}

// TestRBACNamesWithColons: a ClusterRole and a RoleBinding named with
// colons, deployed by an Application and by a Kustomization, stay Synced /
// Ready across hard refreshes and reconciles, and are never pruned or
// re-created (their UIDs do not change).
func TestRBACNamesWithColons(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "rbac-colons")
	head := repo.Commit(t, "master", map[string]string{
		"argo/rbac.yaml": rbacWithColons("argo-e2e", "rbac-argo"),
		"flux/ns.yaml":   "apiVersion: v1\nkind: Namespace\nmetadata: {name: rbac-flux}\n",
		"flux/rbac.yaml": rbacWithColons("flux-e2e", "rbac-flux"),
	}, "rbac")
	startTetherOn(t, srv)
	applyYAML(t, headApp("rbac-colons", "rbac-colons", "HEAD", "argo", "rbac-argo"))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "rbac-colons") })
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: rbac-colons, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/rbac-colons.git, ref: {branch: master}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: rbac-colons, namespace: flux-system}
spec:
  interval: 1m
  path: ./flux
  prune: true
  sourceRef: {kind: GitRepository, name: rbac-colons}
`)
	t.Cleanup(func() {
		ks := &kustomizev1.Kustomization{}
		ks.Namespace, ks.Name = "flux-system", "rbac-colons"
		_ = c.Delete(context.Background(), ks)
		waitGone(t, c, time.Minute, "Kustomization rbac-colons deleted", "flux-system", "rbac-colons", ks)
		if repo, err := getRepo(context.Background(), c, "flux-system", "rbac-colons"); err == nil {
			_ = c.Delete(context.Background(), repo)
		}
	})

	t.Run("the Application stays Synced across hard refreshes; nothing re-created", func(t *testing.T) {
		app := waitApp(t, c, "argocd", "rbac-colons", head, "Synced", "Healthy", 90*time.Second)
		if len(app.Status.Resources) != 2 {
			t.Errorf("status.resources %+v, want the ClusterRole and the RoleBinding", app.Status.Resources)
		}
		for _, r := range app.Status.Resources {
			if r.Status != argov1.SyncStatusCodeSynced || r.RequiresPruning {
				t.Errorf("resource %s %s: %s (requires pruning %v)", r.Kind, r.Name, r.Status, r.RequiresPruning)
			}
		}
		uids, err := rbacUIDs(context.Background(), c, "argo-e2e", "rbac-argo")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			hardRefresh(t, c, "rbac-colons")
			app := waitApp(t, c, "argocd", "rbac-colons", head, "Synced", "Healthy", 30*time.Second)
			for _, r := range app.Status.Resources {
				if r.Status != argov1.SyncStatusCodeSynced {
					t.Errorf("refresh %d: %s %s is %s", i+1, r.Kind, r.Name, r.Status)
				}
			}
			if now, err := rbacUIDs(context.Background(), c, "argo-e2e", "rbac-argo"); err != nil || now != uids {
				t.Fatalf("refresh %d: UIDs %s (err %v), were %s: pruned or re-created", i+1, now, err, uids)
			}
		}
		if st := app.Status.OperationState; st == nil || st.SyncResult == nil {
			t.Fatalf("no sync recorded: %+v", st)
		}
		if n := len(app.Status.History); n != 1 {
			t.Errorf("history has %d entries, want the one sync (the app was synced again)", n)
		}
	})

	t.Run("the Kustomization stays Ready across reconciles; nothing re-created", func(t *testing.T) {
		ks := waitKustomization(t, c, "flux-system", "rbac-colons", "True", 90*time.Second)
		ids := inventoryIDs(ks)
		for _, want := range []string{"_system__flux-e2e__reader_rbac.authorization.k8s.io_ClusterRole",
			"rbac-flux_system__flux-e2e__binding_rbac.authorization.k8s.io_RoleBinding"} {
			if !strings.Contains(ids, want) {
				t.Errorf("inventory %s lacks %s", ids, want)
			}
		}
		uids, err := rbacUIDs(context.Background(), c, "flux-e2e", "rbac-flux")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			requestKustomizationReconcile(t, c, "flux-system", "rbac-colons")
			waitKustomization(t, c, "flux-system", "rbac-colons", "True", 30*time.Second)
			if now, err := rbacUIDs(context.Background(), c, "flux-e2e", "rbac-flux"); err != nil || now != uids {
				t.Fatalf("reconcile %d: UIDs %s (err %v), were %s: pruned or re-created", i+1, now, err, uids)
			}
		}
	})
}

// hardRefresh asks for a hard refresh of Application argocd/name and waits
// until it was handled (the annotation removed, reconciledAt moved).
func hardRefresh(t *testing.T, c client.Client, name string) {
	t.Helper()
	key := types.NamespacedName{Namespace: "argocd", Name: name}
	var app argov1.Application
	if err := c.Get(context.Background(), key, &app); err != nil {
		t.Fatal(err)
	}
	var before time.Time
	if app.Status.ReconciledAt != nil {
		before = app.Status.ReconciledAt.Time
	}
	time.Sleep(1100 * time.Millisecond) // reconciledAt has second precision
	patch := []byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`)
	if err := c.Patch(context.Background(), &app, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "hard refresh of "+name, func(ctx context.Context) error {
		if err := c.Get(ctx, key, &app); err != nil {
			return err
		}
		if _, ok := app.Annotations[argov1.AnnotationKeyRefresh]; ok || app.Status.ReconciledAt == nil || !app.Status.ReconciledAt.After(before) {
			return fmt.Errorf("not handled yet (reconciledAt %v)", app.Status.ReconciledAt)
		}
		return nil
	})
}

// requestKustomizationReconcile sets Flux's requestedAt annotation on a
// Kustomization and waits until the controller has handled it.
func requestKustomizationReconcile(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	ks := getKustomization(t, c, ns, name)
	stamp := time.Now().Format(time.RFC3339Nano)
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, stamp))
	if err := c.Patch(context.Background(), ks, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Kustomization "+name+" handled "+stamp, func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ks); err != nil {
			return err
		}
		if ks.Status.LastHandledReconcileAt != stamp {
			return fmt.Errorf("lastHandledReconcileAt %q", ks.Status.LastHandledReconcileAt)
		}
		return nil
	})
}

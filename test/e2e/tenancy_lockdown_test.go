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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestTenantLockdownFlags runs Tether with Flux's lockdown flags,
// --no-cross-namespace-refs and --default-service-account, over the
// seed's 09 tenant (namespace tenant-a, ServiceAccount flux-tenant-a with
// rights in tenant-a only). A Kustomization or HelmRelease reading a
// source of another namespace is refused (AccessDenied) and writes
// nothing; a Kustomization naming no service account acts as
// flux-tenant-a: it may change tenant-a, and is forbidden elsewhere with
// nothing written.
func TestTenantLockdownFlags(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	applyObjects(t, seedObjects(t, filepath.Join(seedDir, "09-flux-multi-tenancy.yaml"))...)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "lockdown")
	repo.Commit(t, "master", map[string]string{
		"own/cm.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lock-own, namespace: tenant-a}\ndata: {a: b}\n",
		"elsewhere/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lock-ok, namespace: tenant-a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lock-sneaky, namespace: default}\n",
		"cross/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lock-cross, namespace: tenant-a}\n",
	}, "lockdown")
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/",
		"--no-cross-namespace-refs", "--default-service-account", "flux-tenant-a")
	objs := applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: lock-platform, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/lockdown.git}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: lock-tenant, namespace: tenant-a}
spec: {interval: 1m, url: https://git.example.com/lockdown.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: lock-cross, namespace: tenant-a}
spec: {interval: 1m, path: ./cross, prune: true, sourceRef: {kind: GitRepository, name: lock-platform, namespace: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: lock-own, namespace: tenant-a}
spec: {interval: 1m, path: ./own, prune: true, sourceRef: {kind: GitRepository, name: lock-tenant}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: lock-elsewhere, namespace: tenant-a}
spec: {interval: 1m, path: ./elsewhere, prune: true, sourceRef: {kind: GitRepository, name: lock-tenant}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: lock-cross, namespace: tenant-a}
spec:
  interval: 1m
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: podinfo, namespace: flux-system}
`)
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})
	waitReady(t, c, "flux-system", "lock-platform", 60*time.Second)

	t.Run("a Kustomization's source in another namespace is refused, nothing written", func(t *testing.T) {
		ks := waitKustomization(t, c, "tenant-a", "lock-cross", "False", 60*time.Second)
		want := "can't access 'GitRepository/flux-system/lock-platform', cross-namespace references have been blocked"
		if r, msg := readyReason(ks.Status.Conditions), readyMessage(ks.Status.Conditions); r != "AccessDenied" || msg != want {
			t.Errorf("Ready %s: %q, want AccessDenied: %q", r, msg, want)
		}
		if err := c.Get(ctx, types.NamespacedName{Namespace: "tenant-a", Name: "lock-cross"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap lock-cross written: %v", err)
		}
	})

	t.Run("a HelmRelease's chart source in another namespace is refused, nothing written", func(t *testing.T) {
		var hr helmv2.HelmRelease
		eventually(t, 60*time.Second, "HelmRelease lock-cross refused", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "tenant-a", Name: "lock-cross"}, &hr); err != nil {
				return err
			}
			if r := readyReason(hr.Status.Conditions); r != "AccessDenied" {
				return fmt.Errorf("Ready reason %s: %s", r, readyMessage(hr.Status.Conditions))
			}
			return nil
		})
		if msg := readyMessage(hr.Status.Conditions); !strings.Contains(msg, "'HelmRepository/flux-system/podinfo', cross-namespace references have been blocked") {
			t.Errorf("Ready message %q", msg)
		}
		var charts sourcev1.HelmChartList
		if err := c.List(ctx, &charts, client.InNamespace("flux-system")); err != nil {
			t.Fatal(err)
		}
		for _, ch := range charts.Items {
			if ch.Name == "tenant-a-lock-cross" {
				t.Errorf("HelmChart %s written in flux-system", ch.Name)
			}
		}
	})

	t.Run("without serviceAccountName a Kustomization acts as the default one", func(t *testing.T) {
		waitKustomization(t, c, "tenant-a", "lock-own", "True", 60*time.Second)
		if err := c.Get(ctx, types.NamespacedName{Namespace: "tenant-a", Name: "lock-own"}, &corev1.ConfigMap{}); err != nil {
			t.Fatal(err)
		}
		ks := waitKustomization(t, c, "tenant-a", "lock-elsewhere", "False", 60*time.Second)
		if msg := readyMessage(ks.Status.Conditions); !strings.Contains(msg, "forbidden") || !strings.Contains(msg, "system:serviceaccount:tenant-a:flux-tenant-a") {
			t.Errorf("Ready message %q does not say flux-tenant-a is forbidden", msg)
		}
		for _, key := range []types.NamespacedName{{Namespace: "default", Name: "lock-sneaky"}, {Namespace: "tenant-a", Name: "lock-ok"}} {
			if err := c.Get(ctx, key, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
				t.Errorf("ConfigMap %s written: %v", key, err)
			}
		}
	})
}

// TestManagedNamespaceMetadataNeedsTheProject: writing the destination
// Namespace's labels (managedNamespaceMetadata) is a cluster-scoped write;
// a project that allows no cluster-scoped kinds refuses the sync before
// anything is written, neither the Namespace nor the app's objects.
func TestManagedNamespaceMetadataNeedsTheProject(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "lock-md")
	repo.Commit(t, "master", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lock-md}\ndata: {a: b}\n"}, "app")
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/")
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: lock-md, namespace: argocd}
spec:
  sourceRepos: ['*']
  destinations: [{server: https://kubernetes.default.svc, namespace: lock-md}]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: lock-md, namespace: argocd}
spec:
  project: lock-md
  source: {repoURL: https://git.example.com/lock-md.git, targetRevision: HEAD, path: app}
  destination: {server: https://kubernetes.default.svc, namespace: lock-md}
  syncPolicy:
    automated: {}
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata:
      labels: {pod-security.kubernetes.io/enforce: privileged}
`)
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", "lock-md")
		_ = c.Delete(context.Background(), &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "lock-md"}})
	})
	var app argov1.Application
	eventually(t, 60*time.Second, "sync refused", func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "lock-md"}, &app); err != nil {
			return err
		}
		st := app.Status.OperationState
		if st == nil || st.Phase != argov1.OperationFailed || !strings.Contains(st.Message, "managedNamespaceMetadata of Namespace lock-md") {
			return fmt.Errorf("%s", operationSummary(st))
		}
		return nil
	})
	t.Logf("refused: %s", app.Status.OperationState.Message)
	if err := c.Get(ctx, types.NamespacedName{Name: "lock-md"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("Namespace lock-md written: %v", err)
	}
}

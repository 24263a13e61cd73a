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
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestKustomizationTenancySeed09 applies the seed's 09 example unchanged
// and checks that a Kustomization reconciled as flux-tenant-a changes its
// own namespace and nothing outside it; and that a Deployment that never
// becomes ready fails the health check after the timeout, naming it.
func TestKustomizationTenancySeed09(t *testing.T) {
	c := kubeClient(t)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "09-flux-multi-tenancy.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "tenant-a")
	repo.Commit(t, "master", map[string]string{
		"own/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tenant-config, namespace: tenant-a}\ndata: {a: b}\n",
		"other-namespace/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tenant-ok, namespace: tenant-a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: sneaky, namespace: default}\n",
		"cluster-scoped/ns.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tenant-ok2, namespace: tenant-a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-a-extra}\n",
		"unhealthy/deploy.yaml":   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: never-ready, namespace: tenant-a}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: never-ready}}\n  template:\n    metadata: {labels: {app: never-ready}}\n    spec:\n      nodeSelector: {no-such-node: \"true\"}\n      containers: [{name: c, image: nginx}]\n",
	}, "tenant repo")
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/")
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: tenant-a, namespace: tenant-a}
spec: {interval: 1m, url: https://git.example.com/tenant-a.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: own, namespace: tenant-a}
spec: {interval: 1m, path: ./own, prune: true, serviceAccountName: flux-tenant-a, sourceRef: {kind: GitRepository, name: tenant-a}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: other-namespace, namespace: tenant-a}
spec: {interval: 1m, path: ./other-namespace, prune: true, serviceAccountName: flux-tenant-a, sourceRef: {kind: GitRepository, name: tenant-a}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cluster-scoped, namespace: tenant-a}
spec: {interval: 1m, path: ./cluster-scoped, prune: true, serviceAccountName: flux-tenant-a, sourceRef: {kind: GitRepository, name: tenant-a}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: unhealthy, namespace: tenant-a}
spec: {interval: 1m, path: ./unhealthy, prune: true, wait: true, timeout: 5s, serviceAccountName: flux-tenant-a, sourceRef: {kind: GitRepository, name: tenant-a}}
`)

	t.Run("the tenant changes its own namespace", func(t *testing.T) {
		waitKustomization(t, c, "tenant-a", "own", "True", 60*time.Second)
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "tenant-a", Name: "tenant-config"}, &corev1.ConfigMap{}); err != nil {
			t.Fatal(err)
		}
	})

	for _, tc := range []struct{ name, forbidden, untouched string }{
		{"other-namespace", "sneaky", "tenant-ok"},
		{"cluster-scoped", "tenant-a-extra", "tenant-ok2"},
	} {
		t.Run("forbidden outside its namespace: "+tc.name, func(t *testing.T) {
			ks := waitKustomization(t, c, "tenant-a", tc.name, "False", 60*time.Second)
			msg := readyMessage(ks.Status.Conditions)
			if !strings.Contains(msg, "forbidden") || !strings.Contains(msg, tc.forbidden) {
				t.Errorf("Ready message %q does not say %s is forbidden", msg, tc.forbidden)
			}
			err := c.Get(context.Background(), types.NamespacedName{Namespace: "tenant-a", Name: tc.untouched}, &corev1.ConfigMap{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("ConfigMap %s of the refused revision was applied (err %v)", tc.untouched, err)
			}
		})
	}

	t.Run("a Deployment that never becomes ready fails after the timeout", func(t *testing.T) {
		var ks kustomizev1.Kustomization
		eventually(t, 60*time.Second, "Kustomization unhealthy fails its health check", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "tenant-a", Name: "unhealthy"}, &ks); err != nil {
				return err
			}
			if r := readyReason(ks.Status.Conditions); r != "HealthCheckFailed" {
				return fmt.Errorf("Ready reason %s: %s", r, readyMessage(ks.Status.Conditions))
			}
			return nil
		})
		msg := readyMessage(ks.Status.Conditions)
		t.Logf("unhealthy: %s", msg)
		if !strings.Contains(msg, "never-ready") || !strings.Contains(msg, "5s") {
			t.Errorf("Ready message %q does not name Deployment never-ready and the timeout", msg)
		}
		if !apimeta.IsStatusConditionFalse(ks.Status.Conditions, "Healthy") {
			t.Errorf("Healthy is not False: %+v", ks.Status.Conditions)
		}
	})
}

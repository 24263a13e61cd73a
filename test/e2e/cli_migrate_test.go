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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// migrateNamespace is where the migrated guestbook is deployed: the seed
// says "guestbook", which TestApplicationGuestbookSeed01 and others use in
// the same cluster, so the migrated Kustomization is pointed elsewhere.
const migrateNamespace = "migrate-guestbook"

// TestCLIMigrateGuestbookSeed01 runs `tether migrate` on the guestbook seed
// Application, applies the Flux objects it prints and checks that Tether
// deploys the guestbook from them.
func TestCLIMigrateGuestbookSeed01(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "argocd-example-apps")
	head := repo.Commit(t, "master", guestbookFiles(t), "guestbook")
	startTether(t, "--url-rewrite", "https://github.com/argoproj/argocd-example-apps.git="+repo.URL,
		"--git-resolve-ttl", "1s")

	seed := filepath.Join(seedDir, "01-argo-application-guestbook.yaml")
	cli := newCLI(t)
	res := cli.run("tether", "migrate", "-f", seed, "--strict")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("the seed does not migrate cleanly: exit %d, stderr %q", res.code, res.stderr)
	}
	out := cli.ok("tether", "migrate", "-f", seed)
	objs := mustObjects(t, out)
	checkMigratedSeed(t, objs)

	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: migrateNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
		waitGone(t, c, 60*time.Second, "Kustomization guestbook deleted", "flux-system", "guestbook", &kustomizev1.Kustomization{})
		_ = c.Delete(context.Background(), ns)
	})
	for _, o := range objs {
		if o.GetKind() == "Kustomization" {
			if err := unstructured.SetNestedField(o.Object, migrateNamespace, "spec", "targetNamespace"); err != nil {
				t.Fatal(err)
			}
		}
	}
	applier := newApplier(t)
	for _, o := range objs {
		if _, err := applier.Apply(ctx, o); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}

	ks := waitKustomization(t, c, "flux-system", "guestbook", "True", 90*time.Second)
	if !strings.HasSuffix(ks.Status.LastAppliedRevision, head) {
		t.Errorf("lastAppliedRevision %q, want master@sha1:%s", ks.Status.LastAppliedRevision, head)
	}
	eventually(t, 30*time.Second, "guestbook Deployment and Service deployed", func(ctx context.Context) error {
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: migrateNamespace, Name: "guestbook-ui"}, &dep); err != nil {
			return err
		}
		if got := dep.Labels["kustomize.toolkit.fluxcd.io/name"]; got != "guestbook" {
			return fmt.Errorf("Deployment not owned by the Kustomization: labels %v", dep.Labels)
		}
		if img := dep.Spec.Template.Spec.Containers[0].Image; img != "gcr.io/heptio-images/ks-guestbook-demo:0.2" {
			return fmt.Errorf("image %s", img)
		}
		var svc corev1.Service
		return c.Get(ctx, types.NamespacedName{Namespace: migrateNamespace, Name: "guestbook-ui"}, &svc)
	})
}

// checkMigratedSeed checks the objects `tether migrate` prints for the
// guestbook seed: a GitRepository at the remote's default branch and a
// pruning Kustomization of the guestbook path into namespace guestbook.
func checkMigratedSeed(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	if len(objs) != 2 || objs[0].GetKind() != sourcev1.GitRepositoryKind || objs[1].GetKind() != "Kustomization" {
		t.Fatalf("want a GitRepository and a Kustomization, got %d objects", len(objs))
	}
	for _, o := range objs {
		if o.GetName() != "guestbook" || o.GetNamespace() != "flux-system" {
			t.Errorf("%s %s/%s, want flux-system/guestbook", o.GetKind(), o.GetNamespace(), o.GetName())
		}
	}
	url, _, _ := unstructured.NestedString(objs[0].Object, "spec", "url")
	if _, hasRef, _ := unstructured.NestedMap(objs[0].Object, "spec", "ref"); hasRef || url != "https://github.com/argoproj/argocd-example-apps.git" {
		t.Errorf("GitRepository spec %v", objs[0].Object["spec"])
	}
	path, _, _ := unstructured.NestedString(objs[1].Object, "spec", "path")
	target, _, _ := unstructured.NestedString(objs[1].Object, "spec", "targetNamespace")
	prune, _, _ := unstructured.NestedBool(objs[1].Object, "spec", "prune")
	if path != "./guestbook" || target != "guestbook" || !prune {
		t.Errorf("Kustomization spec %v", objs[1].Object["spec"])
	}
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// noRemoteBasesFiles is a Kustomization's folder app with a ConfigMap of
// its own, a local base (folder base, another ConfigMap) and, when remote
// is set, that remote base too.
func noRemoteBasesFiles(prefix, remote string) map[string]string {
	resources := "- cm.yaml\n- ../base\n"
	if remote != "" {
		resources += "- " + remote + "\n"
	}
	configMap := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: b}\n"
	}
	return map[string]string{
		"app/kustomization.yaml":  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" + resources,
		"app/cm.yaml":             configMap(prefix + "-app"),
		"base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm.yaml\n",
		"base/cm.yaml":            configMap(prefix + "-base"),
	}
}

// noRemoteBasesObjects are a GitRepository of repo (polled every 2 s)
// and a Kustomization of its folder app into namespace default, both
// named name in flux-system.
func noRemoteBasesObjects(name, repo string) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: %[1]s, namespace: flux-system}
spec: {interval: 2s, url: https://git.example.com/%[2]s.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: %[1]s, namespace: flux-system}
spec: {interval: 1m, path: ./app, prune: true, targetNamespace: default, sourceRef: {kind: GitRepository, name: %[1]s}}
`, name, repo)
}

// TestKustomizationNoRemoteBases runs Tether with Flux's --no-remote-bases:
// a Kustomization whose kustomization.yaml includes a remote base is
// Ready=False (BuildFailed) with a message naming the file and the URL,
// and nothing of it is written, its local parts included; once the
// remote base is removed from Git, the same Kustomization, local base
// and all, is applied and Ready.
func TestKustomizationNoRemoteBases(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "no-remote-bases")
	const remote = "https://github.com/stefanprodan/podinfo//kustomize?ref=6.5.0"
	repo.Commit(t, "master", noRemoteBasesFiles("nrb", remote), "with a remote base")
	podinfoWrites := func() int {
		n := 0
		for _, e := range tetherRequests(t, cluster(t), "/apis/apps/v1/namespaces/default/deployments/podinfo") {
			if isWriteVerb(e.Verb) {
				n++
			}
		}
		return n
	}
	podinfoBefore := podinfoWrites()
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--git-resolve-ttl", "1s", "--no-remote-bases")
	objs := applyYAML(t, noRemoteBasesObjects("nrb", "no-remote-bases"))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})

	t.Run("a remote base is refused, nothing written", func(t *testing.T) {
		// The source may not have its artifact yet at first
		// (ArtifactFailed); the build's refusal follows.
		var cond *metav1.Condition
		var ks kustomizev1.Kustomization
		eventually(t, 60*time.Second, "Ready=False BuildFailed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "nrb"}, &ks); err != nil {
				return err
			}
			cond = apimeta.FindStatusCondition(ks.Status.Conditions, "Ready")
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != "BuildFailed" {
				return fmt.Errorf("Ready %+v", cond)
			}
			return nil
		})
		for _, part := range []string{`app/kustomization.yaml: resources "` + remote + `"`, "remote bases are not allowed", "--no-remote-bases"} {
			if !strings.Contains(cond.Message, part) {
				t.Errorf("message %q lacks %q", cond.Message, part)
			}
		}
		if ks.Status.LastAppliedRevision != "" || ks.Status.Inventory != nil && len(ks.Status.Inventory.Entries) > 0 {
			t.Errorf("applied %q, inventory %+v", ks.Status.LastAppliedRevision, ks.Status.Inventory)
		}
		for _, name := range []string{"nrb-app", "nrb-base"} {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
				t.Errorf("ConfigMap default/%s written: %v", name, err)
			}
			for _, e := range tetherRequests(t, cluster(t), "/api/v1/namespaces/default/configmaps/"+name) {
				if isWriteVerb(e.Verb) {
					t.Errorf("asked to write, even as a dry run: %s %s", e.Verb, e.RequestURI)
				}
			}
		}
		// Other tests deploy a podinfo there too: only writes since this
		// test started count.
		if n := podinfoWrites() - podinfoBefore; n > 0 {
			t.Errorf("the remote base's Deployment was written %d times", n)
		}
	})

	t.Run("the same Kustomization without the remote base is Ready", func(t *testing.T) {
		head := repo.Commit(t, "master", noRemoteBasesFiles("nrb", ""), "without the remote base")
		waitKustomizationRevision(t, c, "nrb", "master@sha1:"+head)
		waitKustomization(t, c, "flux-system", "nrb", "True", 30*time.Second)
		for _, name := range []string{"nrb-app", "nrb-base"} {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &corev1.ConfigMap{}); err != nil {
				t.Errorf("ConfigMap default/%s: %v", name, err)
			}
		}
	})
}

// TestKustomizationRemoteBasesAllowed runs Tether with
// --no-remote-bases=false, as Flux runs by default: kustomize fetches a
// remote base (a repository of the Git server, by its own URL) and its
// objects are applied with the Kustomization's own.
func TestKustomizationRemoteBasesAllowed(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	shared := srv.CreateRepo(t, "shared-base")
	shared.Commit(t, "master", map[string]string{
		"base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm.yaml\n",
		"base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rba-remote}\ndata: {a: b}\n",
	}, "shared base")
	repo := srv.CreateRepo(t, "remote-bases-allowed")
	repo.Commit(t, "master", noRemoteBasesFiles("rba", shared.URL+"//base?ref=master"), "with a remote base")
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--no-remote-bases=false")
	objs := applyYAML(t, noRemoteBasesObjects("rba", "remote-bases-allowed"))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})
	ks := waitKustomization(t, c, "flux-system", "rba", "True", 90*time.Second)
	t.Logf("Ready: %s", readyMessage(ks.Status.Conditions))
	for _, name := range []string{"rba-app", "rba-base", "rba-remote"} {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &corev1.ConfigMap{}); err != nil {
			t.Errorf("ConfigMap default/%s: %v", name, err)
		}
	}
}

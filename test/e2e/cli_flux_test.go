package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// cliFluxChild is the nested Kustomization the root one applies from Git.
const cliFluxChild = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: cli-flux
spec:
  interval: 1h
  path: ./deploy/webapp
  prune: true
  targetNamespace: cli-flux-apps
  sourceRef:
    kind: GitRepository
    name: podinfo
`

// TestCLIFluxHabits drives Flux objects with the built binary as flux
// users do: get with flux's columns (the same READY and STATUS as kubectl),
// reconcile --with-source returning once the new commit is applied,
// suspend and resume, tree with nested Kustomizations expanded, events;
// straight from the kubeconfig, through a link named flux, and through
// the API server after a login.
func TestCLIFluxHabits(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "cli-podinfo")
	files := podinfoFiles(t)
	files["clusters/cli/podinfo.yaml"] = cliFluxChild
	first := repo.Commit(t, "master", files, "podinfo")
	tether := startTether(t, "--git-resolve-ttl", "1s")
	for _, ns := range []string{"cli-flux", "cli-flux-apps"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: cli-flux
spec:
  interval: 1h
  url: %s
  ref:
    branch: master
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cli-root
  namespace: cli-flux
spec:
  interval: 1h
  path: ./clusters/cli
  prune: true
  sourceRef:
    kind: GitRepository
    name: podinfo
`, repo.URL))
	t.Cleanup(func() {
		for _, name := range []string{"cli-root", "podinfo"} {
			ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "cli-flux", Name: name}}
			_ = c.Delete(ctx, ks)
			waitGone(t, c, time.Minute, "Kustomization "+name, "cli-flux", name, ks)
		}
	})
	waitKustomization(t, c, "cli-flux", "podinfo", "True", 2*time.Minute)
	cli := newCLI(t)

	t.Run("get ks -A shows the READY and STATUS kubectl shows", func(t *testing.T) {
		for _, name := range []string{"tether", "flux"} {
			out := cli.ok(name, "get", "ks", "-A")
			var list kustomizev1.KustomizationList
			if err := c.List(ctx, &list); err != nil {
				t.Fatal(err)
			}
			for _, ks := range list.Items {
				cond := apimeta.FindStatusCondition(ks.Status.Conditions, "Ready")
				if cond == nil || ks.Namespace != "cli-flux" {
					continue
				}
				if !hasRow(out, ks.Namespace, ks.Name, string(cond.Status), cond.Message) {
					t.Errorf("%s get ks -A lacks %s/%s READY %s STATUS %q:\n%s", name, ks.Namespace, ks.Name, cond.Status, cond.Message, out)
				}
			}
			if !strings.Contains(out, "NAMESPACE") || !strings.Contains(out, "master@sha1:"+first) {
				t.Errorf("%s get ks -A: no header or revision:\n%s", name, out)
			}
		}
		src := cli.ok("tether", "get", "sources", "git", "-n", "cli-flux")
		if !hasRow(src, "podinfo", "master@sha1:"+first, "false", "True") {
			t.Errorf("get sources git:\n%s", src)
		}
		all := cli.ok("tether", "get", "all", "-n", "cli-flux")
		for _, want := range []string{"gitrepository/podinfo", "kustomization/cli-root", "kustomization/podinfo"} {
			if !strings.Contains(all, want) {
				t.Errorf("get all lacks %s:\n%s", want, all)
			}
		}
	})

	reconcileTo := func(t *testing.T, name string, replicas int) {
		files["deploy/webapp/deployment.yaml"] = strings.Replace(podinfoFiles(t)["deploy/webapp/deployment.yaml"],
			"replicas: 2", fmt.Sprintf("replicas: %d", replicas), 1)
		head := repo.Commit(t, "master", files, fmt.Sprintf("%d replicas", replicas))
		out := cli.ok(name, "reconcile", "ks", "podinfo", "-n", "cli-flux", "--with-source")
		// Returned only once the source fetched it and the Kustomization
		// applied it: no waiting here.
		ks := getKustomization(t, c, "cli-flux", "podinfo")
		if ks.Status.LastAppliedRevision != "master@sha1:"+head {
			t.Errorf("%s reconcile returned with lastAppliedRevision %s, want %s\n%s", name, ks.Status.LastAppliedRevision, head, out)
		}
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "cli-flux-apps", Name: "podinfo"}, &dep); err != nil || *dep.Spec.Replicas != int32(replicas) {
			t.Errorf("after reconcile: replicas %v (%v)", dep.Spec.Replicas, err)
		}
	}
	t.Run("reconcile ks --with-source returns after the new commit is applied", func(t *testing.T) {
		reconcileTo(t, "tether", 3)
		reconcileTo(t, "flux", 4)
	})

	t.Run("suspend and resume", func(t *testing.T) {
		cli.ok("tether", "suspend", "ks", "podinfo", "-n", "cli-flux")
		if ks := getKustomization(t, c, "cli-flux", "podinfo"); !ks.Spec.Suspend {
			t.Errorf("not suspended")
		}
		if out := cli.ok("tether", "get", "ks", "podinfo", "-n", "cli-flux"); !hasRow(out, "podinfo", "true") {
			t.Errorf("get shows no SUSPENDED true:\n%s", out)
		}
		if res := cli.run("tether", "reconcile", "ks", "podinfo", "-n", "cli-flux"); res.code == 0 || !strings.Contains(res.stderr, "suspended") {
			t.Errorf("reconcile of a suspended Kustomization: exit %d %q", res.code, res.stderr)
		}
		cli.ok("tether", "resume", "ks", "podinfo", "-n", "cli-flux")
		if ks := getKustomization(t, c, "cli-flux", "podinfo"); ks.Spec.Suspend {
			t.Errorf("still suspended")
		}
	})

	t.Run("tree expands nested Kustomizations", func(t *testing.T) {
		out := cli.ok("tether", "tree", "ks", "cli-root", "-n", "cli-flux")
		for _, want := range []string{"Kustomization/cli-flux/cli-root", "└── Kustomization/cli-flux/podinfo", "Deployment/cli-flux-apps/podinfo", "Service/cli-flux-apps/podinfo"} {
			if !strings.Contains(out, want) {
				t.Errorf("tree lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("shell completion names Kustomizations of the namespace", func(t *testing.T) {
		if out := cli.ok("tether", "__complete", "reconcile", "ks", "-n", "cli-flux", "pod"); !strings.Contains(out, "podinfo\n") || strings.Contains(out, "cli-root") {
			t.Errorf("completion: %q", out)
		}
	})

	t.Run("events of one Kustomization", func(t *testing.T) {
		out := cli.ok("tether", "events", "--for", "Kustomization/podinfo", "-n", "cli-flux")
		if !strings.Contains(out, "Kustomization/podinfo") || !strings.Contains(out, "REASON") {
			t.Errorf("events:\n%s", out)
		}
	})

	t.Run("events --watch prints new events as they happen", func(t *testing.T) {
		watch := cli.background("tether", "events", "--for", "Kustomization/podinfo", "-n", "cli-flux", "--watch")
		eventually(t, 20*time.Second, "the first events", func(context.Context) error {
			if !strings.Contains(watch.String(), "Kustomization/podinfo") {
				return fmt.Errorf("printed %q", watch.String())
			}
			return nil
		})
		before := strings.Count(watch.String(), "configured")
		reconcileTo(t, "tether", 5)
		eventually(t, 20*time.Second, "the new event", func(context.Context) error {
			if n := strings.Count(watch.String(), "configured"); n <= before {
				return fmt.Errorf("%d lines about a configured object, as before:\n%s", n, watch.String())
			}
			return nil
		})
	})

	t.Run("logs of one Kustomization from a saved log", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "tether.log")
		if err := os.WriteFile(file, []byte(tether.Logs.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		out := cli.ok("tether", "logs", "--kind", "Kustomization", "--name", "podinfo", "-n", "cli-flux", "--from-file", file)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 3 {
			t.Fatalf("logs: %d lines:\n%s", len(lines), out)
		}
		for _, l := range lines {
			if !strings.Contains(l, " Kustomization/cli-flux/podinfo ") {
				t.Errorf("a line about another object: %s", l)
			}
		}
		if !strings.Contains(out, "Deployment/cli-flux-apps/podinfo") && !strings.Contains(out, "deployment.apps/podinfo") {
			t.Errorf("logs lack the apply of the Deployment:\n%s", out)
		}
	})

	t.Run("the same through the API server after a login", func(t *testing.T) {
		server, password := cliServer(t, c, tether)
		cli.ok("tether", "login", server, "--username", "admin", "--password", password, "--insecure")
		out := cli.ok("tether", "get", "ks", "-n", "cli-flux")
		if !hasRow(out, "podinfo", "True") {
			t.Errorf("get ks through the server:\n%s", out)
		}
		reconcileTo(t, "tether", 2)
		if out := cli.ok("tether", "tree", "ks", "cli-root", "-n", "cli-flux"); !strings.Contains(out, "Deployment/cli-flux-apps/podinfo") {
			t.Errorf("tree through the server:\n%s", out)
		}
		// The flux link keeps flux's habit: the kubeconfig, even when logged in.
		if out := cli.ok("flux", "get", "ks", "-n", "cli-flux"); !hasRow(out, "podinfo", "True") {
			t.Errorf("flux get ks:\n%s", out)
		}
	})
}

// hasRow reports whether a line of a table holds every cell, in order.
func hasRow(table string, cells ...string) bool {
	for _, line := range strings.Split(table, "\n") {
		rest, ok := line, true
		for _, cell := range cells {
			i := strings.Index(rest, cell)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(cell):]
		}
		if ok {
			return true
		}
	}
	return false
}

// TestCLIFluxHelmRelease drives a HelmRelease and its HelmRepository with
// the built binary: get sources helm and get hr with flux's columns,
// reconcile hr --with-source returning once a newly published chart
// version is installed, suspend and resume of the release and of its
// source, and its tree.
func TestCLIFluxHelmRelease(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	repo := podinfoCharts(t, "6.0.0", "6.0.3")
	startTether(t)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cli-helm"}}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: cli-helm
spec:
  interval: 1h
  url: `+repo.URL()+`
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: cli-helm
spec:
  interval: 1h
  chart:
    spec:
      chart: podinfo
      version: "6.0.x"
      interval: 1h
      sourceRef:
        kind: HelmRepository
        name: charts
`)
	t.Cleanup(func() { deleteHelmRelease(t, c, "cli-helm", "web") })
	waitHelmRelease(t, c, "cli-helm", "web", func(hr *helmv2.HelmRelease) bool {
		return isReady(hr.Status.Conditions) && hr.Status.LastAttemptedRevision == "6.0.3"
	}, 3*time.Minute)
	cli := newCLI(t)

	if out := cli.ok("tether", "get", "sources", "helm", "-n", "cli-helm"); !hasRow(out, "charts", "false", "True") {
		t.Errorf("get sources helm:\n%s", out)
	}
	if out := cli.ok("flux", "get", "hr", "-n", "cli-helm"); !hasRow(out, "web", "6.0.3", "false", "True") {
		t.Errorf("get hr:\n%s", out)
	}

	if _, err := repo.Publish(filepath.Join(chartsDir, "podinfo"), "6.0.5"); err != nil {
		t.Fatal(err)
	}
	out := cli.ok("tether", "reconcile", "hr", "web", "-n", "cli-helm", "--with-source")
	var hr helmv2.HelmRelease
	if err := c.Get(ctx, types.NamespacedName{Namespace: "cli-helm", Name: "web"}, &hr); err != nil {
		t.Fatal(err)
	}
	if hr.Status.LastAttemptedRevision != "6.0.5" || !isReady(hr.Status.Conditions) {
		t.Errorf("reconcile hr --with-source returned at %s (ready %v):\n%s", hr.Status.LastAttemptedRevision, isReady(hr.Status.Conditions), out)
	}

	cli.ok("tether", "suspend", "hr", "web", "-n", "cli-helm")
	cli.ok("tether", "suspend", "source", "helm", "charts", "-n", "cli-helm")
	if out := cli.ok("tether", "get", "all", "-n", "cli-helm"); !hasRow(out, "helmrelease/web", "true") || !hasRow(out, "helmrepository/charts", "true") {
		t.Errorf("get all after suspend:\n%s", out)
	}
	cli.ok("tether", "resume", "source", "helm", "charts", "-n", "cli-helm")
	cli.ok("tether", "resume", "hr", "web", "-n", "cli-helm")
	cli.ok("tether", "reconcile", "source", "helm", "charts", "-n", "cli-helm")
	if out := cli.ok("tether", "tree", "hr", "web", "-n", "cli-helm"); !strings.Contains(out, "HelmRelease/cli-helm/web") || !strings.Contains(out, "Deployment/cli-helm/") {
		t.Errorf("tree hr:\n%s", out)
	}
}

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
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestKustomizationSeed06 runs the seed's 05 and 06 examples unchanged
// against a podinfo-like repository and checks what the seed README says:
// ./deploy/webapp/ is applied, Ready only once Deployment default/podinfo
// is healthy, removed objects are pruned, drift is put back.
func TestKustomizationSeed06(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitGitServerOptions())
	podinfo := srv.CreateRepo(t, "podinfo")
	head := podinfo.Commit(t, "master", podinfoFiles(t), "podinfo app")
	tether := startTether(t, "--url-rewrite", "https://github.com/stefanprodan/podinfo="+podinfo.URL, "--git-resolve-ttl", "1s")
	upsertSecret(t, c, "flux-system", "https-credentials", map[string]string{"username": gitUser, "password": gitPassword})
	for _, f := range []string{"05-flux-gitrepository-podinfo.yaml", "06-flux-kustomization-podinfo.yaml"} {
		for _, o := range seedObjects(t, filepath.Join(seedDir, f)) {
			checkAppliedAsWritten(t, newApplier(t), o)
		}
	}
	// The GitRepository may still point at an earlier test's server.
	requestRepoReconcile(t, c, "podinfo")

	t.Run("Ready only once Deployment default/podinfo is Available", func(t *testing.T) {
		ks := waitKustomization(t, c, "flux-system", "podinfo", "True", 2*time.Minute)
		var dep appsv1.Deployment
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "podinfo"}, &dep); err != nil {
			t.Fatal(err)
		}
		if dep.Status.AvailableReplicas != 2 {
			t.Errorf("Kustomization Ready with %d/2 available replicas", dep.Status.AvailableReplicas)
		}
		if want := "master@sha1:" + head; ks.Status.LastAppliedRevision != want || ks.Status.LastAttemptedRevision != want {
			t.Errorf("lastApplied/AttemptedRevision = %q/%q, want %q", ks.Status.LastAppliedRevision, ks.Status.LastAttemptedRevision, want)
		}
		ids := inventoryIDs(ks)
		for _, want := range []string{"default_podinfo_apps_Deployment", "default_podinfo__Service"} {
			if !strings.Contains(ids, want) {
				t.Errorf("inventory %s lacks %s", ids, want)
			}
		}
		if !apimeta.IsStatusConditionTrue(ks.Status.Conditions, "Healthy") {
			t.Errorf("Healthy condition not True: %+v", ks.Status.Conditions)
		}
		if dep.Labels[kustomizev1.NameLabel] != "podinfo" || dep.Labels[kustomizev1.NamespaceLabel] != "flux-system" {
			t.Errorf("Deployment lacks Flux's owner labels: %v", dep.Labels)
		}
		// The same typed progress events as an Application's sync, in one wave.
		eventually(t, 10*time.Second, "progress events in order", func(context.Context) error {
			return inOrder(progressOf(tether.Logs.String(), "Kustomization/flux-system/podinfo"),
				"Sync/0 sync Running -",
				"Sync/0 apply Succeeded Deployment/default/podinfo",
				"Sync/0 wait Running -",
				"Sync/0 wait Succeeded -",
				"Sync/0 sync Succeeded -")
		})
	})

	t.Run("an edited object is restored within 5 seconds", func(t *testing.T) {
		var dep appsv1.Deployment
		key := types.NamespacedName{Namespace: "default", Name: "podinfo"}
		if err := c.Get(context.Background(), key, &dep); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(dep.DeepCopy())
		five := int32(5)
		dep.Spec.Replicas = &five
		if err := c.Patch(context.Background(), &dep, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "replicas back to 2", func(ctx context.Context) error {
			if err := c.Get(ctx, key, &dep); err != nil {
				return err
			}
			if *dep.Spec.Replicas != 2 {
				return fmt.Errorf("replicas = %d", *dep.Spec.Replicas)
			}
			return nil
		})
	})

	t.Run("a deleted object is restored within 5 seconds", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "podinfo"}}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(svc), svc); err != nil {
			t.Fatal(err)
		}
		oldUID := svc.UID
		if err := c.Delete(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "Service default/podinfo recreated", func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
				return err
			}
			if svc.UID == oldUID {
				return fmt.Errorf("still the old object")
			}
			return nil
		})
	})

	t.Run("steady state: no writes and no render", func(t *testing.T) {
		applyYAML(t, `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: steady, namespace: flux-system}
spec:
  interval: 1s
  path: ./deploy/bases
  prune: true
  sourceRef: {kind: GitRepository, name: podinfo}
`)
		waitKustomization(t, c, "flux-system", "steady", "True", 60*time.Second)
		time.Sleep(2 * time.Second)
		logs := func() string { return tether.Logs.String() }
		// Everything this pipeline touches: its source, the Kustomization,
		// the object it applies. (Other tests' leftovers may reconcile too.)
		paths := []string{"/gitrepositories/podinfo", "/kustomizations/steady", "/namespaces/webapp"}
		renderLines := func() int { return countLines(logs(), `"msg":"rendered"`, `"name":"steady"`) }
		writes, renders := countWrites(t, "tether", paths...), renderLines()
		reconciles := countLines(logs(), `"msg":"up to date"`, `"name":"steady"`)
		time.Sleep(5 * time.Second)
		if got := countWrites(t, "tether", paths...) - writes; got != 0 {
			t.Errorf("%d write requests while nothing changed", got)
		}
		if got := renderLines() - renders; got != 0 {
			t.Errorf("%d renders while nothing changed", got)
		}
		if got := countLines(logs(), `"msg":"up to date"`, `"name":"steady"`) - reconciles; got < 3 {
			t.Errorf("only %d log lines of reconciles in 5s at a 1s interval; the check proves nothing", got)
		}
	})

	t.Run("an object removed from Git is pruned", func(t *testing.T) {
		next := podinfo.Commit(t, "master", map[string]string{
			"deploy/webapp/service.yaml":       "",
			"deploy/webapp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n  - deployment.yaml\n",
		}, "drop the service")
		requestRepoReconcile(t, c, "podinfo") // as a push webhook would
		waitKustomizationRevision(t, c, "podinfo", "master@sha1:"+next)
		waitGone(t, c, 10*time.Second, "Service default/podinfo pruned", "default", "podinfo", &corev1.Service{})
	})

	t.Run("an invalid object fails the whole revision and applies nothing", func(t *testing.T) {
		bad := podinfo.Commit(t, "master", map[string]string{
			"deploy/webapp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n  - deployment.yaml\n  - new-config.yaml\n  - broken.yaml\n",
			"deploy/webapp/new-config.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new-config\ndata:\n  a: b\n",
			"deploy/webapp/broken.yaml":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: two\n  selector: {matchLabels: {app: broken}}\n  template:\n    metadata: {labels: {app: broken}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
		}, "broken revision")
		requestRepoReconcile(t, c, "podinfo")
		cond := waitKustomizationFailed(t, c, "podinfo")
		if cond.Reason != "BuildFailed" || !strings.Contains(cond.Message, "broken") {
			t.Errorf("Ready=False %s: %s; want BuildFailed naming the broken object", cond.Reason, cond.Message)
		}
		err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "new-config"}, &corev1.ConfigMap{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap new-config of the failed revision exists (err %v): the revision was half-applied", err)
		}
		ks := getKustomization(t, c, "flux-system", "podinfo")
		if ks.Status.LastAttemptedRevision != "master@sha1:"+bad || ks.Status.LastAppliedRevision == ks.Status.LastAttemptedRevision {
			t.Errorf("lastAttempted %s lastApplied %s", ks.Status.LastAttemptedRevision, ks.Status.LastAppliedRevision)
		}
	})
}

func upsertSecret(t *testing.T, c client.Client, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	_, err := controllerutil.CreateOrUpdate(context.Background(), c, s, func() error {
		s.StringData = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func requestRepoReconcile(t *testing.T, c client.Client, name string) { requestReconcile(t, c, name) }

func getKustomization(t *testing.T, c client.Client, ns, name string) *kustomizev1.Kustomization {
	t.Helper()
	var ks kustomizev1.Kustomization
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &ks); err != nil {
		t.Fatal(err)
	}
	return &ks
}

func waitKustomization(t *testing.T, c client.Client, ns, name, status string, timeout time.Duration) *kustomizev1.Kustomization {
	t.Helper()
	var ks kustomizev1.Kustomization
	eventually(t, timeout, "Kustomization "+name+" Ready="+status, func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &ks); err != nil {
			return err
		}
		cond := apimeta.FindStatusCondition(ks.Status.Conditions, "Ready")
		if cond == nil || string(cond.Status) != status || ks.Status.ObservedGeneration != ks.Generation {
			return fmt.Errorf("Ready = %+v", cond)
		}
		return nil
	})
	return &ks
}

func waitKustomizationFailed(t *testing.T, c client.Client, name string) *metav1.Condition {
	t.Helper()
	ks := waitKustomization(t, c, "flux-system", name, "False", 60*time.Second)
	cond := apimeta.FindStatusCondition(ks.Status.Conditions, "Ready")
	t.Logf("%s: Ready=False %s: %s", name, cond.Reason, cond.Message)
	return cond
}

func waitKustomizationRevision(t *testing.T, c client.Client, name, revision string) {
	t.Helper()
	eventually(t, 60*time.Second, "Kustomization "+name+" at "+revision, func(ctx context.Context) error {
		var ks kustomizev1.Kustomization
		if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: name}, &ks); err != nil {
			return err
		}
		if ks.Status.LastAppliedRevision != revision {
			return fmt.Errorf("lastAppliedRevision = %s", ks.Status.LastAppliedRevision)
		}
		return nil
	})
}

func inventoryIDs(ks *kustomizev1.Kustomization) string {
	if ks.Status.Inventory == nil {
		return ""
	}
	var ids []string
	for _, e := range ks.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	return strings.Join(ids, ",")
}

// countLines counts the lines of text holding every one of parts.
func countLines(text string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// countWrites counts write requests in the audit log made by clients whose
// user agent starts with agent, to any of the given paths (all when none).
func countWrites(t *testing.T, agent string, paths ...string) int {
	t.Helper()
	events, err := cluster(t).AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if !e.IsWrite() || !strings.HasPrefix(e.UserAgent, agent) {
			continue
		}
		for _, p := range paths {
			if strings.Contains(e.RequestURI, p) {
				n++
				break
			}
		}
		if len(paths) == 0 {
			n++
		}
	}
	return n
}

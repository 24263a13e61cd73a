package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
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

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/chartserve"
)

const chartsDir = "testdata/charts"

// podinfoRepoURL is the public repository seed 07's users point at; tests
// map it to a loopback chart repository with the URL rewrite.
const podinfoRepoURL = "https://stefanprodan.github.io/podinfo"

// podinfoCharts starts a chart repository on loopback holding the test
// podinfo chart at each version; it is closed when the test ends.
func podinfoCharts(t *testing.T, versions ...string) *chartserve.Repo {
	t.Helper()
	repo, err := chartserve.NewRepo(chartserve.RepoOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	for _, v := range versions {
		if _, err := repo.Publish(filepath.Join(chartsDir, "podinfo"), v); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// TestHelmReleaseSeed07 installs seed 07 unchanged from a loopback chart
// repository holding podinfo 6.0.0, 6.0.3 and 6.1.0.
func TestHelmReleaseSeed07(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	suspendKustomization(t, c, "flux-system", "podinfo") // seed 06 may have left one managing default/podinfo
	repo := podinfoCharts(t, "6.0.0", "6.0.3", "6.1.0")
	if _, err := repo.Publish(filepath.Join(chartsDir, "broken"), ""); err != nil {
		t.Fatal(err)
	}
	tether := startTether(t, "--url-rewrite", podinfoRepoURL+"="+repo.URL())
	applyYAML(t, `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1h
  url: `+podinfoRepoURL+`
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo-values
  namespace: default
data:
  values.yaml: |
    replicaCount: 5
    image:
      tag: 9.9.9
    ui:
      message: from the ConfigMap
`)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "07-flux-helmrelease-podinfo.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	t.Cleanup(func() { deleteHelmRelease(t, c, "default", "podinfo") })

	t.Run("the newest 6.0.x (6.0.3) is installed as a Helm release", func(t *testing.T) {
		hr := waitHelmRelease(t, c, "default", "podinfo", func(hr *helmv2.HelmRelease) bool {
			return isReady(hr.Status.Conditions) && len(hr.Status.History) > 0
		}, 3*time.Minute)
		want := "Helm install succeeded for release default/podinfo.v1 with chart podinfo@6.0.3"
		if msg := readyMessage(hr.Status.Conditions); msg != want {
			t.Errorf("Ready message = %q, want %q", msg, want)
		}
		if !apimeta.IsStatusConditionTrue(hr.Status.Conditions, "Released") {
			t.Errorf("Released not True: %+v", hr.Status.Conditions)
		}
		if hr.Status.LastAttemptedRevision != "6.0.3" || hr.Status.HelmChart != "flux-system/default-podinfo" ||
			hr.Status.LastAttemptedReleaseAction != "install" || !strings.HasPrefix(hr.Status.LastAttemptedConfigDigest, "sha256:") {
			t.Errorf("status = revision %q chart %q action %q digest %q", hr.Status.LastAttemptedRevision, hr.Status.HelmChart,
				hr.Status.LastAttemptedReleaseAction, hr.Status.LastAttemptedConfigDigest)
		}
		if hr.Status.Inventory == nil || !strings.Contains(fmt.Sprint(hr.Status.Inventory.Entries), "default_podinfo_apps_Deployment") {
			t.Errorf("inventory %+v lacks the Deployment", hr.Status.Inventory)
		}
		if h := hr.Status.History[0]; h.ChartVersion != "6.0.3" || h.Version != 1 || h.Status != "deployed" || h.ChartName != "podinfo" {
			t.Errorf("history[0] = %+v", h)
		}
		var chart sourcev1.HelmChart
		if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "default-podinfo"}, &chart); err != nil {
			t.Fatal(err)
		}
		if chart.Spec.Version != "6.0.x" || chart.Status.Artifact == nil || chart.Status.Artifact.Revision != "6.0.3" {
			t.Errorf("HelmChart spec.version %q, artifact %+v", chart.Spec.Version, chart.Status.Artifact)
		}
		var secret corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "sh.helm.release.v1.podinfo.v1"}, &secret); err != nil {
			t.Fatalf("Helm's release record: %v", err)
		}
		if secret.Type != "helm.sh/release.v1" {
			t.Errorf("release Secret type %q", secret.Type)
		}
		// The API shows the release's objects as its tree.
		api, admin := adminSession(t, c, tether)
		if tree := api.expect("GET", "/api/v1/flux/helmreleases/default/podinfo/tree", admin, nil, http.StatusOK); !strings.Contains(string(tree), `"kind":"Deployment","namespace":"default","name":"podinfo"`) {
			t.Errorf("the API's tree of the HelmRelease: %s", tree)
		}
	})

	t.Run("replicaCount 2 and the image tag come from values merged over ConfigMap podinfo-values", func(t *testing.T) {
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "podinfo"}, &dep); err != nil {
			t.Fatal(err)
		}
		if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
			t.Errorf("replicas = %v, want 2 (spec.values wins over the ConfigMap's 5)", dep.Spec.Replicas)
		}
		if img := dep.Spec.Template.Spec.Containers[0].Image; img != "stefanprodan/podinfo:6.0.0" {
			t.Errorf("image = %q, want stefanprodan/podinfo:6.0.0", img)
		}
		if dep.Labels[helmv2.NameLabel] != "podinfo" || dep.Labels[helmv2.NamespaceLabel] != "default" {
			t.Errorf("Deployment lacks the origin labels: %v", dep.Labels)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "podinfo-ui"}, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Data["message"] != "from the ConfigMap" {
			t.Errorf("message = %q: the ConfigMap's own values were not merged", cm.Data["message"])
		}
	})

	t.Run("helm list -A shows the release at revision 1", func(t *testing.T) {
		checkHelmList(t, "default", "podinfo", 1, "podinfo-6.0.3", "deployed")
	})

	t.Run("publishing 6.0.4 upgrades the release", func(t *testing.T) {
		if _, err := repo.Publish(filepath.Join(chartsDir, "podinfo"), "6.0.4"); err != nil {
			t.Fatal(err)
		}
		requestHelmRepoReconcile(t, c, "flux-system", "podinfo")
		hr := waitHelmRelease(t, c, "default", "podinfo", func(hr *helmv2.HelmRelease) bool {
			l := hr.Status.History.Latest()
			return isReady(hr.Status.Conditions) && l != nil && l.ChartVersion == "6.0.4"
		}, 3*time.Minute)
		want := "Helm upgrade succeeded for release default/podinfo.v2 with chart podinfo@6.0.4"
		if msg := readyMessage(hr.Status.Conditions); msg != want {
			t.Errorf("Ready message = %q, want %q", msg, want)
		}
		if len(hr.Status.History) != 2 || hr.Status.History[1].Status != "superseded" {
			t.Errorf("history = %s", snapshotsText(hr.Status.History))
		}
		checkHelmList(t, "default", "podinfo", 2, "podinfo-6.0.4", "deployed")
	})

	t.Run("a chart whose install fails is retried 3 times, then Stalled with the Helm error", func(t *testing.T) {
		applyYAML(t, `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: broken
  namespace: default
spec:
  interval: 1h
  chart:
    spec:
      chart: broken
      sourceRef:
        kind: HelmRepository
        name: podinfo
        namespace: flux-system
  install:
    remediation:
      retries: 3
`)
		t.Cleanup(func() { deleteHelmRelease(t, c, "default", "broken") })
		hr := waitHelmRelease(t, c, "default", "broken", func(hr *helmv2.HelmRelease) bool {
			return apimeta.IsStatusConditionTrue(hr.Status.Conditions, "Stalled")
		}, 4*time.Minute)
		ready := apimeta.FindStatusCondition(hr.Status.Conditions, "Ready")
		if ready == nil || ready.Status != metav1.ConditionFalse ||
			!strings.Contains(ready.Message, "Helm install failed for release default/broken with chart broken@1.0.0") ||
			!strings.Contains(ready.Message, "port") {
			t.Errorf("Ready = %+v, want False with the Helm error", ready)
		}
		stalled := apimeta.FindStatusCondition(hr.Status.Conditions, "Stalled")
		if stalled.Reason != "RetriesExceeded" || stalled.Message != "Failed to install after 4 attempt(s)" {
			t.Errorf("Stalled = %s %q", stalled.Reason, stalled.Message)
		}
		if hr.Status.InstallFailures != 4 || hr.Status.Failures < 4 {
			t.Errorf("installFailures = %d, failures = %d; want 4 and at least 4", hr.Status.InstallFailures, hr.Status.Failures)
		}
		rem := apimeta.FindStatusCondition(hr.Status.Conditions, "Remediated")
		if rem == nil || rem.Reason != "UninstallSucceeded" || !strings.Contains(rem.Message, "Helm uninstall remediation for release default/broken") {
			t.Errorf("Remediated = %+v, want the uninstall remediation", rem)
		}
		events := eventsFor(t, c, "default", "broken")
		if n := strings.Count(events, "UninstallSucceeded"); n < 1 {
			t.Errorf("no uninstall remediation event: %s", events)
		}
		if !strings.Contains(events, "Last Helm logs:") {
			t.Errorf("the InstallFailed events do not carry Helm's last log lines: %s", events)
		}
		time.Sleep(3 * time.Second)
		again := getHelmRelease(t, c, "default", "broken")
		if again.Status.InstallFailures != 4 {
			t.Errorf("a stalled release was attempted again: installFailures %d", again.Status.InstallFailures)
		}
	})

	t.Run("deleting the HelmRelease uninstalls the release", func(t *testing.T) {
		if err := c.Delete(ctx, &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "podinfo"}}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, time.Minute, "HelmRelease default/podinfo", "default", "podinfo", &helmv2.HelmRelease{})
		waitGone(t, c, time.Minute, "Deployment default/podinfo", "default", "podinfo", &appsv1.Deployment{})
		var secrets corev1.SecretList
		if err := c.List(ctx, &secrets, client.InNamespace("default"), client.MatchingLabels{"owner": "helm", "name": "podinfo"}); err != nil {
			t.Fatal(err)
		}
		if len(secrets.Items) != 0 {
			t.Errorf("%d release records left", len(secrets.Items))
		}
		waitGone(t, c, time.Minute, "HelmChart flux-system/default-podinfo", "flux-system", "default-podinfo", &sourcev1.HelmChart{})
	})
}

// deleteHelmRelease deletes a HelmRelease and waits until it is gone
// (uninstalled), so later tests' Tether processes do not meet it.
func deleteHelmRelease(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	err := c.Delete(context.Background(), &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete HelmRelease %s/%s: %v", ns, name, err)
		return
	}
	waitGone(t, c, time.Minute, "HelmRelease "+ns+"/"+name, ns, name, &helmv2.HelmRelease{})
}

func isReady(conds []metav1.Condition) bool { return apimeta.IsStatusConditionTrue(conds, "Ready") }

func getHelmRelease(t *testing.T, c client.Client, ns, name string) *helmv2.HelmRelease {
	t.Helper()
	var hr helmv2.HelmRelease
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &hr); err != nil {
		t.Fatal(err)
	}
	return &hr
}

// waitHelmRelease waits until ok holds for the HelmRelease.
func waitHelmRelease(t *testing.T, c client.Client, ns, name string, ok func(*helmv2.HelmRelease) bool, timeout time.Duration) *helmv2.HelmRelease {
	t.Helper()
	var hr helmv2.HelmRelease
	eventually(t, timeout, "HelmRelease "+ns+"/"+name, func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &hr); err != nil {
			return err
		}
		if !ok(&hr) {
			return fmt.Errorf("conditions %s; history %s; failures %d/%d", conditionsText(hr.Status.Conditions),
				snapshotsText(hr.Status.History), hr.Status.InstallFailures, hr.Status.UpgradeFailures)
		}
		return nil
	})
	return &hr
}

func conditionsText(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s %s %q", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

func snapshotsText(h helmv2.Snapshots) string {
	var parts []string
	for _, s := range h {
		parts = append(parts, fmt.Sprintf("v%d %s %s@%s", s.Version, s.Status, s.ChartName, s.ChartVersion))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func requestHelmRepoReconcile(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	var repo sourcev1.HelmRepository
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &repo); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(repo.DeepCopy())
	if repo.Annotations == nil {
		repo.Annotations = map[string]string{}
	}
	repo.Annotations["reconcile.fluxcd.io/requestedAt"] = time.Now().Format(time.RFC3339Nano)
	if err := c.Patch(context.Background(), &repo, patch); err != nil {
		t.Fatal(err)
	}
}

// suspendKustomization suspends a Kustomization an earlier scenario left,
// so that it cannot compete for the same objects.
func suspendKustomization(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	var ks kustomizev1.Kustomization
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &ks); err != nil {
		return
	}
	patch := client.MergeFrom(ks.DeepCopy())
	ks.Spec.Suspend = true
	if err := c.Patch(context.Background(), &ks, patch); err != nil {
		t.Fatal(err)
	}
}

// eventsFor returns the reasons and messages of the events about an
// object, one per line.
func eventsFor(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	var list corev1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			fmt.Fprintf(&b, "%s %s\n", e.Reason, e.Message)
		}
	}
	return b.String()
}

// helmBinary is the real helm CLI that `make helm` builds.
func helmBinary(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs("../../.local/bin/helm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the helm CLI is not built (%v): run `make helm` (make test does)", err)
	}
	return bin
}

// checkHelmList runs `helm list -A -o json` and checks one release.
func checkHelmList(t *testing.T, ns, name string, revision int, chart, status string) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), "list", "-A", "-o", "json", "--kubeconfig", cluster(t).KubeconfigPath)
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm list: %v\n%s", err, out)
	}
	var list []struct {
		Name, Namespace, Revision, Status, Chart string
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("helm list output: %v\n%s", err, out)
	}
	for _, r := range list {
		if r.Name == name && r.Namespace == ns {
			if r.Revision != fmt.Sprint(revision) || r.Chart != chart || r.Status != status {
				t.Errorf("helm list: %s/%s revision %s chart %s status %s; want %d %s %s", ns, name, r.Revision, r.Chart, r.Status, revision, chart, status)
			}
			return
		}
	}
	t.Errorf("helm list -A does not show %s/%s:\n%s", ns, name, out)
}

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/chartserve"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestHelmReleaseFeatures covers what seed 07 does not: OCI and
// authenticated repositories, charts from Git, tests, drift correction,
// upgrade failures rolled back, targetPath values, dependsOn.
func TestHelmReleaseFeatures(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	const ns = "helm-features"
	const user, password = "helm-user", "helm-repo-password-0042"
	private, err := chartserve.NewRepo(chartserve.RepoOptions{Dir: t.TempDir(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { private.Close() })
	reg, err := chartserve.NewRegistry(chartserve.RegistryOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if _, _, err := reg.PushChart(ctx, filepath.Join(chartsDir, "withcrd"), ""); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"6.0.0", "6.1.0"} {
		if _, err := private.Publish(filepath.Join(chartsDir, "podinfo"), v); err != nil {
			t.Fatal(err)
		}
		if _, _, err := reg.PushChart(ctx, filepath.Join(chartsDir, "podinfo"), v); err != nil {
			t.Fatal(err)
		}
	}
	secure, err := chartserve.NewRepo(chartserve.RepoOptions{Dir: t.TempDir(), TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secure.Close() })
	if _, err := secure.Publish(filepath.Join(chartsDir, "podinfo"), "6.2.0"); err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	gitRepo := srv.CreateRepo(t, "charts")
	gitFiles := folderFiles(t, filepath.Join(chartsDir, "podinfo"), "charts/podinfo")
	gitFiles["envs/prod/values.yaml"] = "replicaCount: 3\nui:\n  message: prod\n"
	gitRepo.Commit(t, "main", gitFiles, "podinfo chart")

	tether := startTether(t,
		"--url-rewrite", "https://private.example.com/charts="+private.URL(),
		"--url-rewrite", "oci://registry.example.com/charts="+reg.URL(),
		"--url-rewrite", "https://git.example.com/charts.git="+gitRepo.URL,
		"--url-rewrite", "https://secure.example.com/charts="+secure.URL())
	applyYAML(t, fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: Secret
metadata:
  name: private-charts
  namespace: %[1]s
stringData:
  username: %[2]s
  password: %[3]s
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: private
  namespace: %[1]s
spec:
  interval: 1h
  url: https://private.example.com/charts
  secretRef:
    name: private-charts
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: oci
  namespace: %[1]s
spec:
  type: oci
  interval: 1h
  insecure: true
  url: oci://registry.example.com/charts
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: charts
  namespace: %[1]s
spec:
  interval: 1h
  url: https://git.example.com/charts.git
  ref:
    branch: main
---
apiVersion: v1
kind: Secret
metadata:
  name: ui-message
  namespace: %[1]s
stringData:
  message: from a Secret at a target path
---
apiVersion: v1
kind: Secret
metadata:
  name: secure-ca
  namespace: %[1]s
stringData:
  ca.crt: |
%[4]s
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: secure
  namespace: %[1]s
spec:
  interval: 1h
  url: https://secure.example.com/charts
  certSecretRef:
    name: secure-ca
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: prod-chart
  namespace: %[1]s
spec:
  interval: 1h
  chart: ./charts/podinfo
  sourceRef: {kind: GitRepository, name: charts}
  valuesFiles: [charts/podinfo/values.yaml, envs/prod/values.yaml]
`, ns, user, password, indent(string(secure.CAPEM()), "    ")))
	hr := func(name, body string) {
		t.Helper()
		applyYAML(t, fmt.Sprintf(`
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
%s`, name, ns, body))
		t.Cleanup(func() { deleteHelmRelease(t, c, ns, name) })
	}
	ready := func(t *testing.T, name string) *helmv2.HelmRelease {
		t.Helper()
		return waitHelmRelease(t, c, ns, name, func(hr *helmv2.HelmRelease) bool {
			return isReady(hr.Status.Conditions) && hr.Status.ObservedGeneration == hr.Generation
		}, 3*time.Minute)
	}
	deployment := func(t *testing.T, name string) *appsv1.Deployment {
		t.Helper()
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &dep); err != nil {
			t.Fatal(err)
		}
		return &dep
	}

	hr("from-oci", `  chart:
    spec:
      chart: podinfo
      version: 6.1.x
      sourceRef: {kind: HelmRepository, name: oci}`)
	hr("from-private", `  chart:
    spec:
      chart: podinfo
      version: "6.0.0"
      sourceRef: {kind: HelmRepository, name: private}
  values:
    ui: {message: inline}
  valuesFrom:
    - kind: Secret
      name: ui-message
      valuesKey: message
      targetPath: ui.message
    - kind: ConfigMap
      name: does-not-exist
      optional: true`)
	hr("from-git", `  chart:
    spec:
      chart: ./charts/podinfo
      sourceRef: {kind: GitRepository, name: charts}
  test:
    enable: true`)
	hr("drifty", `  chart:
    spec:
      chart: podinfo
      version: "6.1.0"
      sourceRef: {kind: HelmRepository, name: oci}
  driftDetection:
    mode: enabled`)

	hr("from-tls", `  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: secure}`)
	hr("by-ref", `  chartRef: {kind: HelmChart, name: prod-chart}`)
	hr("custom", `  releaseName: custom-web
  targetNamespace: helm-custom-target
  storageNamespace: helm-custom-storage
  install:
    createNamespace: true
  chart:
    spec:
      chart: podinfo
      version: "6.1.0"
      sourceRef: {kind: HelmRepository, name: oci}
  commonMetadata:
    labels: {team: web}
  postRenderers:
    - kustomize:
        patches:
          - target: {kind: Deployment}
            patch: |
              - op: replace
                path: /spec/replicas
                value: 2`)
	hr("impersonated", `  serviceAccountName: nobody
  chart:
    spec:
      chart: podinfo
      version: "6.1.0"
      sourceRef: {kind: HelmRepository, name: oci}`)
	applyYAML(t, `
apiVersion: v1
kind: Namespace
metadata:
  name: helm-custom-storage
`)

	t.Run("a chart's CRDs are created before its objects, with the origin labels", func(t *testing.T) {
		hr("with-crds", `  chart:
    spec:
      chart: withcrd
      sourceRef: {kind: HelmRepository, name: oci}`)
		ready(t, "with-crds")
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		if err := c.Get(ctx, types.NamespacedName{Name: "widgets.test.tether.dev"}, crd); err != nil {
			t.Fatal(err)
		}
		if crd.GetLabels()[helmv2.NameLabel] != "with-crds" {
			t.Errorf("CRD labels %v", crd.GetLabels())
		}
		widget := &unstructured.Unstructured{}
		widget.SetAPIVersion("test.tether.dev/v1")
		widget.SetKind("Widget")
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "with-crds-widget"}, widget); err != nil {
			t.Errorf("the chart's Widget: %v", err)
		}
	})

	t.Run("a chart from a repository over TLS with a CA from certSecretRef", func(t *testing.T) {
		h := ready(t, "from-tls")
		if l := h.Status.History.Latest(); l.ChartVersion != "6.2.0" {
			t.Errorf("chart version %s", l.ChartVersion)
		}
	})

	t.Run("chartRef to a user-defined HelmChart from Git with valuesFiles", func(t *testing.T) {
		h := ready(t, "by-ref")
		if h.Status.HelmChart != ns+"/prod-chart" {
			t.Errorf("status.helmChart %q", h.Status.HelmChart)
		}
		if r := *deployment(t, "by-ref-podinfo").Spec.Replicas; r != 3 {
			t.Errorf("replicas %d, want 3 from envs/prod/values.yaml merged into the chart", r)
		}
	})

	t.Run("releaseName, targetNamespace, storageNamespace, post-renderers and commonMetadata", func(t *testing.T) {
		h := ready(t, "custom")
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-custom-target", Name: "custom-web-podinfo"}, &dep); err != nil {
			t.Fatal(err)
		}
		if *dep.Spec.Replicas != 2 || dep.Labels["team"] != "web" || dep.Labels[helmv2.NameLabel] != "custom" {
			t.Errorf("replicas %d labels %v: post-renderer patch, commonMetadata and origin labels", *dep.Spec.Replicas, dep.Labels)
		}
		var secret corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-custom-storage", Name: "sh.helm.release.v1.custom-web.v1"}, &secret); err != nil {
			t.Errorf("release record not in the storage namespace: %v", err)
		}
		if h.Status.StorageNamespace != "helm-custom-storage" {
			t.Errorf("status.storageNamespace %q", h.Status.StorageNamespace)
		}
	})

	t.Run("serviceAccountName: the release is made with that account's rights", func(t *testing.T) {
		h := waitHelmRelease(t, c, ns, "impersonated", func(hr *helmv2.HelmRelease) bool {
			return strings.Contains(readyMessage(hr.Status.Conditions), "forbidden")
		}, time.Minute)
		if !strings.Contains(readyMessage(h.Status.Conditions), "system:serviceaccount:helm-features:nobody") {
			t.Errorf("Ready message %q does not name the account", readyMessage(h.Status.Conditions))
		}
	})

	t.Run("a chart from an OCI HelmRepository", func(t *testing.T) {
		h := ready(t, "from-oci")
		if l := h.Status.History.Latest(); l.ChartVersion != "6.1.0" {
			t.Errorf("chart version %s, want 6.1.0", l.ChartVersion)
		}
		if got := deployment(t, "from-oci-podinfo").Labels["helm.sh/chart"]; got != "podinfo-6.1.0" {
			t.Errorf("helm.sh/chart %q", got)
		}
	})

	t.Run("a chart from a repository with basic auth; a targetPath value wins over inline values", func(t *testing.T) {
		ready(t, "from-private")
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "from-private-podinfo-ui"}, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Data["message"] != "from a Secret at a target path" {
			t.Errorf("message %q", cm.Data["message"])
		}
		var repo sourcev1.HelmRepository
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "private"}, &repo); err != nil {
			t.Fatal(err)
		}
		if repo.Status.Artifact == nil || !strings.HasPrefix(repo.Status.Artifact.Revision, "sha256:") {
			t.Errorf("HelmRepository artifact %+v", repo.Status.Artifact)
		}
	})

	t.Run("a chart packaged from a GitRepository path, tested", func(t *testing.T) {
		h := ready(t, "from-git")
		c := apimeta.FindStatusCondition(h.Status.Conditions, "TestSuccess")
		if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "1 test hook completed successfully") {
			t.Errorf("TestSuccess = %+v", c)
		}
		if msg := readyMessage(h.Status.Conditions); !strings.HasPrefix(msg, "Helm test succeeded for release helm-features/from-git.v1 with chart podinfo@6.0.0") {
			t.Errorf("Ready message %q", msg)
		}
		if l := h.Status.History.Latest(); l.TestHooks == nil || len(*l.TestHooks) != 1 {
			t.Errorf("history test hooks %+v", l.TestHooks)
		}
	})

	t.Run("drift is detected and corrected", func(t *testing.T) {
		ready(t, "drifty")
		dep := deployment(t, "drifty-podinfo")
		patch := client.MergeFrom(dep.DeepCopy())
		seven := int32(7)
		dep.Spec.Replicas = &seven
		if err := c.Patch(ctx, dep, patch); err != nil {
			t.Fatal(err)
		}
		// The API's diff shows the drift before anything corrects it.
		api, admin := adminSession(t, c, tether)
		var d fluxDiff
		if err := json.Unmarshal(api.expect("GET", "/api/v1/flux/helmreleases/"+ns+"/drifty/diff", admin, nil, http.StatusOK), &d); err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{}
		for _, it := range d.Items {
			actions[it.Kind+"/"+it.Name] = it.Action
			if it.Kind == "Deployment" && (!strings.Contains(it.LiveState, `"replicas":7`) || !strings.Contains(it.PredictedLiveState, `"replicas":1`)) {
				t.Errorf("the Deployment's diff: live %s, predicted %s; want 7, then 1", it.LiveState, it.PredictedLiveState)
			}
		}
		if got := fmt.Sprint(actions); got != "map[ConfigMap/drifty-podinfo-ui:unchanged Deployment/drifty-podinfo:configured Service/drifty-podinfo:unchanged]" ||
			!strings.HasPrefix(d.Revision, ns+"/drifty.v1 (podinfo@") {
			t.Errorf("the release's diff: %s at %q", got, d.Revision)
		}
		requestHelmReleaseReconcile(t, c, ns, "drifty")
		eventually(t, time.Minute, "replicas put back", func(ctx context.Context) error {
			if r := *deployment(t, "drifty-podinfo").Spec.Replicas; r != 1 {
				return fmt.Errorf("replicas %d", r)
			}
			return nil
		})
		events := eventsFor(t, c, ns, "drifty")
		if !strings.Contains(events, "DriftDetected") || !strings.Contains(events, "DriftCorrected") ||
			!strings.Contains(events, "Deployment/helm-features/drifty-podinfo changed") {
			t.Errorf("events:\n%s", events)
		}
		if h := getHelmRelease(t, c, ns, "drifty"); len(h.Status.History) != 1 {
			t.Errorf("drift was corrected by a new release: %s", snapshotsText(h.Status.History))
		}
	})

	t.Run("a failed upgrade is rolled back, then Stalled when retries are exhausted", func(t *testing.T) {
		hr("rollme", `  chart:
    spec:
      chart: podinfo
      version: "6.0.0"
      sourceRef: {kind: HelmRepository, name: oci}
  upgrade:
    remediation:
      retries: 1`)
		ready(t, "rollme")
		var h helmv2.HelmRelease
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rollme"}, &h); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(h.DeepCopy())
		h.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"service":{"port":0}}`)}
		if err := c.Patch(ctx, &h, patch); err != nil {
			t.Fatal(err)
		}
		got := waitHelmRelease(t, c, ns, "rollme", func(hr *helmv2.HelmRelease) bool {
			return apimeta.IsStatusConditionTrue(hr.Status.Conditions, "Stalled")
		}, 3*time.Minute)
		stalled := apimeta.FindStatusCondition(got.Status.Conditions, "Stalled")
		if stalled.Message != "Failed to upgrade after 2 attempt(s)" {
			t.Errorf("Stalled %q", stalled.Message)
		}
		rem := apimeta.FindStatusCondition(got.Status.Conditions, "Remediated")
		if rem == nil || rem.Reason != "RollbackSucceeded" || !strings.Contains(rem.Message, "Helm rollback to previous release helm-features/rollme.v3 with chart podinfo@6.0.0 succeeded" /* v1, rolled back to once already as v3 */) {
			t.Errorf("Remediated = %+v", rem)
		}
		if msg := readyMessage(got.Status.Conditions); !strings.Contains(msg, "Helm upgrade failed for release helm-features/rollme with chart podinfo@6.0.0") {
			t.Errorf("Ready message %q", msg)
		}
		if got.Status.UpgradeFailures != 2 {
			t.Errorf("upgradeFailures %d", got.Status.UpgradeFailures)
		}
		var svc corev1.Service
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rollme-podinfo"}, &svc); err != nil || svc.Spec.Ports[0].Port != 9898 {
			t.Errorf("Service after rollback: %+v (err %v)", svc.Spec.Ports, err)
		}
		checkHelmList(t, ns, "rollme", 5, "podinfo-6.0.0", "deployed")
	})

	t.Run("an install whose Deployment never becomes available fails its wait, naming the Deployment", func(t *testing.T) {
		hr("unschedulable", `  chart:
    spec:
      chart: podinfo
      version: "6.0.0"
      sourceRef: {kind: HelmRepository, name: oci}
  install:
    timeout: 15s
  postRenderers:
    - kustomize:
        patches:
          - target: {kind: Deployment}
            patch: |
              - op: add
                path: /spec/template/spec/nodeSelector
                value: {tether.dev/no-such-node: "true"}`)
		got := waitHelmRelease(t, c, ns, "unschedulable", func(hr *helmv2.HelmRelease) bool {
			r := apimeta.FindStatusCondition(hr.Status.Conditions, "Ready")
			return r != nil && r.Status == metav1.ConditionFalse && r.Reason == "InstallFailed"
		}, 2*time.Minute)
		msg := readyMessage(got.Status.Conditions)
		for _, want := range []string{"Helm install failed for release helm-features/unschedulable", "resource Deployment/helm-features/unschedulable-podinfo not ready. status: InProgress", "context deadline exceeded"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Ready message %q does not say %q", msg, want)
			}
		}
		if strings.Contains(msg, "Service/") || strings.Contains(msg, "ConfigMap/") {
			t.Errorf("Ready message %q names objects that were ready", msg)
		}
	})

	t.Run("dependsOn holds a release until its dependency is Ready", func(t *testing.T) {
		hr("needs", `  dependsOn:
    - name: absent
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: oci}`)
		h := waitHelmRelease(t, c, ns, "needs", func(hr *helmv2.HelmRelease) bool {
			return readyReason(hr.Status.Conditions) == "DependencyNotReady"
		}, time.Minute)
		if msg := readyMessage(h.Status.Conditions); !strings.Contains(msg, "unable to get 'helm-features/absent' dependency") {
			t.Errorf("Ready message %q", msg)
		}
		if len(h.Status.History) != 0 {
			t.Errorf("installed before its dependency")
		}
	})

	t.Run("a suspended HelmRelease is left alone", func(t *testing.T) {
		h := getHelmRelease(t, c, ns, "from-oci")
		patch := client.MergeFrom(h.DeepCopy())
		h.Spec.Suspend = true
		h.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount":5}`)}
		if err := c.Patch(ctx, h, patch); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if r := *deployment(t, "from-oci-podinfo").Spec.Replicas; r != 1 {
			t.Errorf("replicas %d: a suspended release was upgraded", r)
		}
		if got := getHelmRelease(t, c, ns, "from-oci"); len(got.Status.History) != 1 {
			t.Errorf("history %s", snapshotsText(got.Status.History))
		}
	})

	t.Run("a wrong repository password fails the HelmRepository and is never shown", func(t *testing.T) {
		upsertSecret(t, c, ns, "private-charts", map[string]string{"username": user, "password": "not-" + password})
		var repo sourcev1.HelmRepository
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "private"}, &repo); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(repo.DeepCopy())
		repo.Annotations = map[string]string{"reconcile.fluxcd.io/requestedAt": time.Now().String()}
		if err := c.Patch(ctx, &repo, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "HelmRepository fails authentication", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "private"}, &repo); err != nil {
				return err
			}
			if readyReason(repo.Status.Conditions) != "AuthenticationFailed" {
				return fmt.Errorf("Ready %s %q", readyReason(repo.Status.Conditions), readyMessage(repo.Status.Conditions))
			}
			return nil
		})
		for _, secret := range []string{password, "not-" + password} {
			if strings.Contains(fmt.Sprintf("%+v", repo.Status), secret) || strings.Contains(eventsFor(t, c, ns, "private"), secret) ||
				strings.Contains(tether.Logs.String(), secret) {
				t.Errorf("a repository password appears in status, events or logs")
			}
		}
	})
}

// TestHelmReleaseMasksSecretValues installs a chart that fails quoting
// the values a HelmRelease took from a Secret (a values.yaml leaf and a
// targetPath value, raw and base64): the failure is reported with "***"
// in their place, in status, events and Tether's logs alike.
func TestHelmReleaseMasksSecretValues(t *testing.T) {
	c := kubeClient(t)
	const ns, name = "helm-masking", "masked"
	const password, token = "pw-from-a-secret-0042", "tok-from-a-secret-0042"
	chartDir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: quoter\nversion: 1.0.0\n",
		"values.yaml":         "password: \"\"\ntoken: \"\"\n",
		"templates/fail.yaml": `{{ fail (printf "bad password %s (%s), token %s" .Values.password (b64enc .Values.password) .Values.token) }}` + "\n",
	}
	for path, data := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(chartDir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(chartDir, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := chartserve.NewRepo(chartserve.RepoOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	if _, err := repo.Publish(chartDir, ""); err != nil {
		t.Fatal(err)
	}
	tether := startTether(t, "--url-rewrite", "https://masking.example.com/charts="+repo.URL())
	applyYAML(t, fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: Secret
metadata:
  name: release-values
  namespace: %[1]s
stringData:
  values.yaml: |
    password: %[3]s
  token: %[4]s
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: quoter
  namespace: %[1]s
spec:
  interval: 1h
  url: https://masking.example.com/charts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  interval: 1h
  chart:
    spec:
      chart: quoter
      sourceRef: {kind: HelmRepository, name: quoter}
  valuesFrom:
    - kind: Secret
      name: release-values
    - kind: Secret
      name: release-values
      valuesKey: token
      targetPath: token
`, ns, name, password, token))
	t.Cleanup(func() { deleteHelmRelease(t, c, ns, name) })

	got := waitHelmRelease(t, c, ns, name, func(hr *helmv2.HelmRelease) bool {
		return readyReason(hr.Status.Conditions) == "InstallFailed"
	}, 2*time.Minute)
	if r := apimeta.FindStatusCondition(got.Status.Conditions, "Ready"); r.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %s", r.Status)
	}
	if msg := readyMessage(got.Status.Conditions); !strings.Contains(msg, "Helm install failed for release helm-masking/masked") ||
		!strings.Contains(msg, "bad password *** (***), token ***") {
		t.Errorf("Ready message %q: want the failure with the values masked", msg)
	}
	var events string
	eventually(t, time.Minute, "an InstallFailed event", func(context.Context) error {
		if events = eventsFor(t, c, ns, name); !strings.Contains(events, "InstallFailed") {
			return fmt.Errorf("events:\n%s", events)
		}
		return nil
	})
	if !strings.Contains(events, "bad password *** (***), token ***") {
		t.Errorf("the InstallFailed event does not say the failure masked:\n%s", events)
	}
	status := fmt.Sprintf("%+v", getHelmRelease(t, c, ns, name).Status)
	for _, secret := range []string{password, token, base64.StdEncoding.EncodeToString([]byte(password))} {
		if strings.Contains(status, secret) || strings.Contains(eventsFor(t, c, ns, name), secret) ||
			strings.Contains(tether.Logs.String(), secret) {
			t.Errorf("%q appears in status, events or logs", secret)
		}
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func requestHelmReleaseReconcile(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	h := getHelmRelease(t, c, ns, name)
	patch := client.MergeFrom(h.DeepCopy())
	if h.Annotations == nil {
		h.Annotations = map[string]string{}
	}
	h.Annotations["reconcile.fluxcd.io/requestedAt"] = time.Now().Format(time.RFC3339Nano)
	if err := c.Patch(context.Background(), h, patch); err != nil {
		t.Fatal(err)
	}
}

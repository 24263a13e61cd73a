package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/chartserve"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// labelSecret puts Argo CD's secret-type label on an existing Secret.
func labelSecret(t *testing.T, c client.Client, ns, name, typ string) {
	t.Helper()
	var s corev1.Secret
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	p := client.MergeFrom(s.DeepCopy())
	s.Labels = map[string]string{argov1.LabelKeySecretType: typ}
	if err := c.Patch(context.Background(), &s, p); err != nil {
		t.Fatal(err)
	}
}

// TestApplicationHelmSources syncs Applications whose source is a Helm
// chart: from an HTTP chart repository with basic auth, from an OCI
// registry, and from a Git path holding Chart.yaml. Charts are rendered
// as Argo CD renders them (helm template, no release) and synced by the
// engine.
func TestApplicationHelmSources(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	const user, password = "chart-reader", "s3cret-chart-password"
	repo, err := chartserve.NewRepo(chartserve.RepoOptions{Dir: t.TempDir(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	reg, err := chartserve.NewRegistry(chartserve.RegistryOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	for _, v := range []string{"6.0.0", "6.0.3", "6.1.0"} {
		if _, err := repo.Publish(filepath.Join(chartsDir, "podinfo"), v); err != nil {
			t.Fatal(err)
		}
		if _, _, err := reg.PushChart(ctx, filepath.Join(chartsDir, "podinfo"), v); err != nil {
			t.Fatal(err)
		}
	}
	srv := gitserver.New(t, gitserver.Options{})
	gitRepo := srv.CreateRepo(t, "charts")
	files := folderFiles(t, filepath.Join(chartsDir, "podinfo"), "charts/podinfo")
	files["charts/podinfo/values-prod.yaml"] = "replicaCount: 3\nui:\n  message: from values-prod.yaml\n"
	files["charts/podinfo/templates/pre-install.yaml"] = `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox
          command: ["true"]
`
	files["charts/podinfo/templates/capabilities.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-capabilities
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" | quote }}
`
	head := gitRepo.Commit(t, "main", files, "podinfo chart")

	startTether(t,
		"--url-rewrite", "https://charts.example.com/podinfo="+repo.URL(),
		"--url-rewrite", "oci://registry.example.com/charts="+reg.URL(),
		"--url-rewrite", "https://git.example.com/charts.git="+gitRepo.URL,
		"--app-resync-period", "2s")

	upsertSecret(t, c, "argocd", "podinfo-helm-repo", map[string]string{
		"type": "helm", "name": "podinfo", "url": "https://charts.example.com/podinfo", "username": user, "password": password})
	labelSecret(t, c, "argocd", "podinfo-helm-repo", argov1.SecretTypeRepository)
	upsertSecret(t, c, "argocd", "podinfo-oci-repo", map[string]string{
		"type": "helm", "name": "podinfo-oci", "url": "registry.example.com/charts", "enableOCI": "true", "insecureOCIForceHttp": "true"})
	labelSecret(t, c, "argocd", "podinfo-oci-repo", argov1.SecretTypeRepository)

	app := func(name, source string) string {
		return fmt.Sprintf(`
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
spec:
  project: default
  source:
%s
  destination:
    server: https://kubernetes.default.svc
    namespace: %s
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, name, source, name)
	}

	t.Run("a chart from an HTTP repository with basic auth: values, valuesObject and parameters", func(t *testing.T) {
		applyYAML(t, app("helm-http", `    repoURL: https://charts.example.com/podinfo
    chart: podinfo
    targetRevision: 6.0.x
    helm:
      releaseName: web
      values: |
        ui:
          message: from values
      valuesObject:
        ui:
          message: from valuesObject
        image:
          tag: 1.2.3
      parameters:
        - name: replicaCount
          value: "4"`))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "helm-http") })
		a := waitApp(t, c, "argocd", "helm-http", "6.0.3", "Synced", "Healthy", 2*time.Minute)
		if a.Status.SourceType != argov1.ApplicationSourceTypeHelm {
			t.Errorf("sourceType %q", a.Status.SourceType)
		}
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-http", Name: "web-podinfo"}, &dep); err != nil {
			t.Fatalf("the release name 'web' names the objects: %v", err)
		}
		if *dep.Spec.Replicas != 4 || dep.Spec.Template.Spec.Containers[0].Image != "ghcr.io/stefanprodan/podinfo:1.2.3" {
			t.Errorf("replicas %d image %s: parameters win over valuesObject, valuesObject over values", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-http", Name: "web-podinfo-ui"}, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Data["message"] != "from valuesObject" {
			t.Errorf("message %q: valuesObject replaces values", cm.Data["message"])
		}
		var jobs batchv1.JobList
		if err := c.List(ctx, &jobs, client.InNamespace("helm-http")); err != nil {
			t.Fatal(err)
		}
		if len(jobs.Items) != 0 {
			t.Errorf("the chart's test hook was applied: %d Jobs", len(jobs.Items))
		}
		var secrets corev1.SecretList
		if err := c.List(ctx, &secrets, client.InNamespace("helm-http")); err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets.Items {
			if s.Type == "helm.sh/release.v1" {
				t.Errorf("a Helm release record %s exists: Argo CD renders charts without releases", s.Name)
			}
		}
		if repo.Requests("/podinfo-6.0.3.tgz") == 0 {
			t.Errorf("the chart was not downloaded from the loopback repository")
		}
	})

	t.Run("a chart from an OCI registry", func(t *testing.T) {
		applyYAML(t, app("helm-oci", `    repoURL: oci://registry.example.com/charts
    chart: podinfo
    targetRevision: ">=6.0.0 <7.0.0"`))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "helm-oci") })
		waitApp(t, c, "argocd", "helm-oci", "6.1.0", "Synced", "Healthy", 2*time.Minute)
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-oci", Name: "helm-oci-podinfo"}, &dep); err != nil {
			t.Fatal(err)
		}
		if got := dep.Labels["helm.sh/chart"]; got != "podinfo-6.1.0" {
			t.Errorf("helm.sh/chart label %q, want podinfo-6.1.0 (the newest version the range allows)", got)
		}
	})

	t.Run("a chart in Git with value files; Helm hooks run as Argo CD hooks", func(t *testing.T) {
		applyYAML(t, app("helm-git", `    repoURL: https://git.example.com/charts.git
    targetRevision: main
    path: charts/podinfo
    helm:
      valueFiles: [values-prod.yaml]`))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "helm-git") })
		a := waitApp(t, c, "argocd", "helm-git", head, "Synced", "Healthy", 2*time.Minute)
		var dep appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-git", Name: "helm-git-podinfo"}, &dep); err != nil {
			t.Fatal(err)
		}
		if *dep.Spec.Replicas != 3 {
			t.Errorf("replicas %d, want 3 from values-prod.yaml", *dep.Spec.Replicas)
		}
		hook := false
		for _, r := range a.Status.OperationState.SyncResult.Resources {
			if r.Kind == "Job" && r.Name == "helm-git-migrate" && r.HookType == argov1.HookTypePreSync {
				hook = true
			}
		}
		if !hook {
			t.Errorf("the pre-install hook did not run as a PreSync hook: %+v", a.Status.OperationState.SyncResult.Resources)
		}
		if a.Status.SourceType != argov1.ApplicationSourceTypeHelm {
			t.Errorf("sourceType %q", a.Status.SourceType)
		}
		var caps corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "helm-git", Name: "helm-git-capabilities"}, &caps); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(caps.Data["kube"], "v1.35.") || caps.Data["monitoring"] != "true" {
			t.Errorf("capabilities %v: the chart must see the destination cluster's version and APIs (its CRDs included)", caps.Data)
		}
	})

	t.Run("a wrong chart password is refused and never shown", func(t *testing.T) {
		upsertSecret(t, c, "argocd", "podinfo-helm-repo", map[string]string{
			"type": "helm", "url": "https://charts.example.com/podinfo", "username": user, "password": "wrong-" + password})
		labelSecret(t, c, "argocd", "podinfo-helm-repo", argov1.SecretTypeRepository)
		applyYAML(t, app("helm-denied", `    repoURL: https://charts.example.com/podinfo
    chart: podinfo
    targetRevision: 6.1.0`))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "helm-denied") })
		a := waitCondition(t, c, "helm-denied", argov1.ApplicationConditionComparisonError, "authentication")
		if s := fmt.Sprintf("%+v", a.Status); strings.Contains(s, password) {
			t.Errorf("status shows the password")
		}
		var ns corev1.Namespace
		if err := c.Get(ctx, types.NamespacedName{Name: "helm-denied"}, &ns); !apierrors.IsNotFound(err) {
			t.Errorf("namespace helm-denied exists (err %v): nothing may be applied", err)
		}
	})
}

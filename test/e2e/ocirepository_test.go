package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/chartserve"
)

// ociRegistry starts an OCI registry on loopback that wants basic
// credentials user:password.
func ociRegistry(t *testing.T, user, password string) *chartserve.Registry {
	t.Helper()
	reg, err := chartserve.NewRegistry(chartserve.RegistryOptions{Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}

// dockerConfigSecret is a kubernetes.io/dockerconfigjson Secret for host.
func dockerConfigSecret(ns, name, host, user, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '%s'\n", name, ns, cfg)
}

// pushArtifact writes files into a folder and pushes it with `tether push
// artifact` as ref; it returns the digest pushed.
func pushArtifact(t *testing.T, c *cli, ref, creds string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := c.quiet("tether", "push", "artifact", ref, "--path", dir, "--source", "https://github.com/example/app.git",
		"--revision", "main@sha1:0123456789abcdef0123456789abcdef01234567", "--creds", creds, "-o", "json")
	var res struct{ Digest string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("push printed %q: %v", out, err)
	}
	return res.Digest
}

// waitOCIArtifact waits for OCIRepository flux-system/name to be Ready
// with an artifact of revision, and returns the object.
func waitOCIArtifact(t *testing.T, c client.Client, name, revision string) *sourcev1.OCIRepository {
	t.Helper()
	var repo sourcev1.OCIRepository
	eventually(t, 60*time.Second, "OCIRepository "+name+" at "+revision, func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: name}, &repo); err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(repo.Status.Conditions, meta.ReadyCondition)
		if ready == nil || ready.Status != metav1.ConditionTrue || repo.Status.Artifact == nil || repo.Status.Artifact.Revision != revision {
			return fmt.Errorf("Ready %+v, artifact %+v", ready, repo.Status.Artifact)
		}
		return nil
	})
	return &repo
}

// TestOCIRepositoryKustomization: manifests pushed with `tether push
// artifact` to a registry that wants credentials are deployed by a
// Kustomization through an OCIRepository (written as v1beta2) that
// follows the semver range 1.x; a new tag within the range is picked up
// within the interval, one outside it is not; with a wrong password the
// OCIRepository is Ready=False AuthenticationFailed naming the URL, keeps
// its artifact, and the objects stay; the password shows nowhere.
func TestOCIRepositoryKustomization(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	const user, password = "ci-bot", "oci-pass-4711"
	reg := ociRegistry(t, user, password)
	cmd := newCLI(t)
	repoURL := "oci://" + reg.Host() + "/manifests/app"
	d1 := pushArtifact(t, cmd, repoURL+":1.0.0", user+":"+password, map[string]string{"cm.yaml": bucketConfigMap("oci-a", "one")})
	pushArtifact(t, cmd, repoURL+":2.0.0", user+":"+password, map[string]string{"cm.yaml": bucketConfigMap("oci-a", "major")})
	tether := startTether(t)
	objs := applyYAML(t, dockerConfigSecret("flux-system", "oci-creds", reg.Host(), user, password)+fmt.Sprintf(`---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: oci-app, namespace: flux-system}
spec:
  interval: 2s
  url: %s
  ref: {semver: "1.x"}
  secretRef: {name: oci-creds}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: oci-app, namespace: flux-system}
spec: {interval: 1m, path: ./, prune: true, targetNamespace: default, sourceRef: {kind: OCIRepository, name: oci-app}}
`, repoURL))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})

	rev := "1.0.0@" + d1
	t.Run("the pushed artifact is deployed", func(t *testing.T) {
		repo := waitOCIArtifact(t, c, "oci-app", rev)
		a := repo.Status.Artifact
		if !strings.HasPrefix(a.Path, "ocirepository/flux-system/oci-app/") || a.Digest == "" || a.URL == "" {
			t.Errorf("artifact %+v", a)
		}
		if a.Metadata["org.opencontainers.image.source"] != "https://github.com/example/app.git" ||
			a.Metadata["org.opencontainers.image.revision"] != "main@sha1:0123456789abcdef0123456789abcdef01234567" {
			t.Errorf("artifact metadata %v", a.Metadata)
		}
		if cond := apimeta.FindStatusCondition(repo.Status.Conditions, sourcev1.ArtifactInStorageCondition); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("ArtifactInStorage %+v", cond)
		}
		waitKustomizationRevision(t, c, "oci-app", rev)
		waitKustomization(t, c, "flux-system", "oci-app", "True", 30*time.Second)
		waitConfigMapData(t, c, "oci-a", "one")
		if ev := eventsFor(t, c, "flux-system", "oci-app"); !strings.Contains(ev, "NewArtifact stored artifact with revision '"+rev+"'") {
			t.Errorf("no NewArtifact event in:\n%s", ev)
		}
	})

	t.Run("a new tag in the range is picked up within the interval", func(t *testing.T) {
		d2 := pushArtifact(t, cmd, repoURL+":1.1.0", user+":"+password, map[string]string{"cm.yaml": bucketConfigMap("oci-a", "two")})
		start := time.Now()
		rev = "1.1.0@" + d2
		waitOCIArtifact(t, c, "oci-app", rev)
		waitKustomizationRevision(t, c, "oci-app", rev)
		waitConfigMapData(t, c, "oci-a", "two")
		t.Logf("1.1.0 deployed %s after the push", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a wrong password: a clear error, the last artifact and objects stay", func(t *testing.T) {
		const wrong = "not-the-oci-pass"
		applyYAML(t, dockerConfigSecret("flux-system", "oci-creds", reg.Host(), user, wrong))
		pushArtifact(t, cmd, repoURL+":1.2.0", user+":"+password, map[string]string{"cm.yaml": bucketConfigMap("oci-a", "three")})
		var repo sourcev1.OCIRepository
		var ready *metav1.Condition
		eventually(t, 60*time.Second, "OCIRepository Ready=False AuthenticationFailed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "oci-app"}, &repo); err != nil {
				return err
			}
			ready = apimeta.FindStatusCondition(repo.Status.Conditions, meta.ReadyCondition)
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != sourcev1.AuthenticationFailedReason {
				return fmt.Errorf("Ready %+v", ready)
			}
			return nil
		})
		t.Logf("Ready=False %s: %s", ready.Reason, ready.Message)
		if !strings.Contains(ready.Message, repoURL) || !strings.Contains(ready.Message, "authentication failed") || !strings.Contains(ready.Message, "secret 'flux-system/oci-creds'") {
			t.Errorf("message %q does not name the URL and the refusal", ready.Message)
		}
		if f := apimeta.FindStatusCondition(repo.Status.Conditions, sourcev1.FetchFailedCondition); f == nil || f.Status != metav1.ConditionTrue {
			t.Errorf("FetchFailed %+v", f)
		}
		if repo.Status.Artifact == nil || repo.Status.Artifact.Revision != rev {
			t.Errorf("artifact %+v, want the last one at %s", repo.Status.Artifact, rev)
		}
		time.Sleep(4 * time.Second) // two more intervals
		ks := waitKustomization(t, c, "flux-system", "oci-app", "True", 10*time.Second)
		if ks.Status.LastAppliedRevision != rev {
			t.Errorf("lastAppliedRevision %s, want %s", ks.Status.LastAppliedRevision, rev)
		}
		waitConfigMapData(t, c, "oci-a", "two")
		events := eventsFor(t, c, "flux-system", "oci-app")
		for _, text := range []string{events, ready.Message, tether.Logs.String()} {
			if strings.Contains(text, password) || strings.Contains(text, wrong) {
				t.Errorf("a password shows in status, events or logs")
			}
		}
	})

	t.Run("the right password again: the newest tag in the range", func(t *testing.T) {
		applyYAML(t, dockerConfigSecret("flux-system", "oci-creds", reg.Host(), user, password))
		var repo sourcev1.OCIRepository
		eventually(t, 60*time.Second, "OCIRepository at 1.2.0", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "oci-app"}, &repo); err != nil {
				return err
			}
			if a := repo.Status.Artifact; a == nil || !strings.HasPrefix(a.Revision, "1.2.0@sha256:") {
				return fmt.Errorf("artifact %+v", a)
			}
			return nil
		})
		waitConfigMapData(t, c, "oci-a", "three")
	})

	t.Run("verify is refused with Stalled", func(t *testing.T) {
		objs := applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: oci-verify, namespace: flux-system}
spec:
  interval: 1m
  url: %s
  ref: {tag: "1.0.0"}
  secretRef: {name: oci-creds}
  verify: {provider: cosign, secretRef: {name: cosign-keys}}
`, repoURL))
		t.Cleanup(func() { _ = c.Delete(ctx, objs[0]) })
		var repo sourcev1.OCIRepository
		eventually(t, 30*time.Second, "oci-verify Stalled", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "oci-verify"}, &repo); err != nil {
				return err
			}
			if s := apimeta.FindStatusCondition(repo.Status.Conditions, meta.StalledCondition); s == nil || s.Status != metav1.ConditionTrue {
				return fmt.Errorf("Stalled %+v", s)
			}
			return nil
		})
		s := apimeta.FindStatusCondition(repo.Status.Conditions, meta.StalledCondition)
		v := apimeta.FindStatusCondition(repo.Status.Conditions, sourcev1.SourceVerifiedCondition)
		if !strings.Contains(s.Message, "spec.verify") || !strings.Contains(s.Message, "not supported") || v == nil || v.Status != metav1.ConditionFalse {
			t.Errorf("Stalled %q, SourceVerified %+v", s.Message, v)
		}
		if repo.Status.Artifact != nil {
			t.Errorf("an unverified artifact was stored: %+v", repo.Status.Artifact)
		}
	})
}

// TestOCIRepositoryHelmRelease: a chart pushed to a registry with Helm's
// own client (Helm's media types) is installed by a HelmRelease whose
// chartRef is an OCIRepository that copies the chart layer; the release's
// chart version carries the artifact digest as Flux records it; moving
// the OCIRepository to another tag upgrades the release.
func TestOCIRepositoryHelmRelease(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	const ns = "oci-helm"
	reg := ociRegistry(t, "", "")
	var digests = map[string]string{}
	for _, v := range []string{"6.1.0", "6.2.0"} {
		_, d, err := reg.PushChart(ctx, filepath.Join(chartsDir, "podinfo"), v)
		if err != nil {
			t.Fatal(err)
		}
		digests[v] = d
	}
	startTether(t)
	repo := func(tag string) string {
		return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: podinfo, namespace: %s}
spec:
  interval: 1m
  url: oci://%s/charts/podinfo
  ref: {tag: "%s"}
  layerSelector: {mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", operation: copy}
`, ns, reg.Host(), tag)
	}
	objs := applyYAML(t, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
%[2]s---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: %[1]s}
spec:
  interval: 1m
  chartRef: {kind: OCIRepository, name: podinfo}
  values:
    ui: {message: from an OCI chart}
`, ns, repo("6.1.0")))
	t.Cleanup(func() {
		for i := len(objs) - 1; i >= 0; i-- {
			_ = c.Delete(context.Background(), objs[i])
		}
	})
	for _, v := range []string{"6.1.0", "6.2.0"} {
		if v == "6.2.0" {
			applyYAML(t, repo(v))
		}
		d := digests[v]
		want := v + "+" + strings.TrimPrefix(d, "sha256:")[:12]
		hr := waitHelmRelease(t, c, ns, "podinfo", func(hr *helmv2.HelmRelease) bool {
			ready := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
			return ready != nil && ready.Status == metav1.ConditionTrue && len(hr.Status.History) > 0 &&
				hr.Status.History[0].ChartVersion == want
		}, 2*time.Minute)
		if s := hr.Status.History[0]; s.OCIDigest != d || hr.Status.LastAttemptedRevisionDigest != d || hr.Status.LastAttemptedRevision != want {
			t.Errorf("%s: snapshot %+v, lastAttemptedRevision %s, digest %s; want digest %s", v, s, hr.Status.LastAttemptedRevision, hr.Status.LastAttemptedRevisionDigest, d)
		}
		if hr.Status.HelmChart != "" {
			t.Errorf("status.helmChart = %q, want none for an OCIRepository", hr.Status.HelmChart)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "podinfo-ui"}, &cm); err != nil || cm.Data["message"] != "from an OCI chart" {
			t.Errorf("%s: ConfigMap podinfo-ui: %v %v", v, cm.Data, err)
		}
	}
}

// TestApplicationOCISource: Argo CD Applications with oci:// sources (as
// Argo CD 3.1 reads them), credentials from an Argo CD repo-creds Secret
// of type oci: manifests pushed with `tether push artifact`, followed by
// the semver range 1.x with a path inside the artifact, sync at the
// manifest's digest and follow a new tag; a Helm chart pushed with Helm's
// client renders as a chart with path ".".
func TestApplicationOCISource(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	const user, password = "argo-oci", "argo-oci-pass-99"
	reg := ociRegistry(t, user, password)
	cmd := newCLI(t)
	repoURL := "oci://" + reg.Host() + "/manifests/guestbook"
	creds := user + ":" + password
	files := func(v string) map[string]string {
		return map[string]string{"deploy/cm.yaml": bucketConfigMap("oci-argo", v), "other/cm.yaml": bucketConfigMap("oci-argo-other", v)}
	}
	d1 := pushArtifact(t, cmd, repoURL+":1.0.0", creds, files("one"))
	if _, _, err := reg.PushChart(ctx, filepath.Join(chartsDir, "podinfo"), "6.0.0"); err != nil {
		t.Fatal(err)
	}
	startTether(t, "--app-resync-period", "2s")
	upsertSecret(t, c, "argocd", "oci-registry-creds", map[string]string{
		"type": "oci", "url": "oci://" + reg.Host(), "username": user, "password": password})
	labelSecret(t, c, "argocd", "oci-registry-creds", argov1.SecretTypeRepoCreds)
	app := func(name, source string) string {
		return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %[1]s, namespace: argocd}
spec:
  project: default
  source:
%[2]s
  destination: {server: "https://kubernetes.default.svc", namespace: %[1]s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, name, source)
	}
	t.Run("manifests follow a semver range", func(t *testing.T) {
		applyYAML(t, app("oci-manifests", fmt.Sprintf("    repoURL: %s\n    targetRevision: 1.x\n    path: deploy", repoURL)))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "oci-manifests") })
		a := waitApp(t, c, "argocd", "oci-manifests", d1, "Synced", "Healthy", 90*time.Second)
		if a.Status.SourceType != argov1.ApplicationSourceTypeDirectory {
			t.Errorf("sourceType %s", a.Status.SourceType)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "oci-manifests", Name: "oci-argo"}, &cm); err != nil || cm.Data["a"] != "one" {
			t.Fatalf("ConfigMap oci-argo: %v %v", cm.Data, err)
		}
		if err := c.Get(ctx, types.NamespacedName{Namespace: "oci-manifests", Name: "oci-argo-other"}, &cm); err == nil {
			t.Errorf("a file outside path was applied")
		}
		d2 := pushArtifact(t, cmd, repoURL+":1.1.0", creds, files("two"))
		waitApp(t, c, "argocd", "oci-manifests", d2, "Synced", "Healthy", 90*time.Second)
		if err := c.Get(ctx, types.NamespacedName{Namespace: "oci-manifests", Name: "oci-argo"}, &cm); err != nil || cm.Data["a"] != "two" {
			t.Errorf("ConfigMap oci-argo after 1.1.0: %v %v", cm.Data, err)
		}
	})
	t.Run("a Helm chart with path .", func(t *testing.T) {
		applyYAML(t, app("oci-chart", fmt.Sprintf(`    repoURL: oci://%s/charts/podinfo
    targetRevision: 6.0.0
    path: .
    helm:
      valuesObject:
        ui: {message: from an OCI source}`, reg.Host())))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "oci-chart") })
		a := waitApp(t, c, "argocd", "oci-chart", "", "Synced", "Healthy", 2*time.Minute)
		if a.Status.SourceType != argov1.ApplicationSourceTypeHelm || !strings.HasPrefix(a.Status.Sync.Revision, "sha256:") {
			t.Errorf("sourceType %s, revision %s", a.Status.SourceType, a.Status.Sync.Revision)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "oci-chart", Name: "oci-chart-podinfo-ui"}, &cm); err != nil || cm.Data["message"] != "from an OCI source" {
			t.Errorf("ConfigMap oci-chart-podinfo-ui: %v %v", cm.Data, err)
		}
	})
}

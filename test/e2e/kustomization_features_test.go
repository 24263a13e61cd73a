package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestKustomizationFeatures covers the spec fields users combine most:
// dependsOn, targetNamespace, namePrefix/nameSuffix, patches, images,
// commonMetadata, postBuild.substitute / substituteFrom; and
// kubeConfig.secretRef, which applies to another cluster.
func TestKustomizationFeatures(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "features")
	repo.Commit(t, "master", map[string]string{
		"base/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: features}\n",
		"app/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx:1.25}]}\n",
		"app/config.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata:\n  cluster: ${cluster_name}\n  region: ${region:=eu-west-1}\n  token: ${api_token}\n",
		"leaky/cm.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaky}\ndata:\n  password: ${db_password}\n",
		"remote/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-tether, namespace: default}\ndata: {where: remote}\n",
	}, "features")
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/")
	upsertSecret(t, c, "flux-system", "cluster-vars", map[string]string{"api_token": "tok-123"})
	if err := c.Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "cluster-vars"},
		Data:       map[string]string{"cluster_name": "staging", "region": "us-east-1"},
	}); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: features, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/features.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  interval: 1m
  path: ./app
  prune: true
  dependsOn: [{name: base}]
  targetNamespace: features
  namePrefix: pre-
  nameSuffix: -suf
  commonMetadata:
    labels: {team: platform}
  images:
    - {name: nginx, newTag: "1.27"}
  patches:
    - target: {kind: Deployment}
      patch: |
        - op: replace
          path: /spec/replicas
          value: 3
  postBuild:
    substitute: {region: ap-south-1}
    substituteFrom:
      - {kind: ConfigMap, name: cluster-vars}
      - {kind: Secret, name: cluster-vars}
  sourceRef: {kind: GitRepository, name: features}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata: {name: base, namespace: flux-system}
spec: {interval: 1m, path: ./base, prune: true, sourceRef: {kind: GitRepository, name: features}}
`)
	t.Run("dependsOn waits for base, then everything is rendered as the spec says", func(t *testing.T) {
		waitKustomization(t, c, "flux-system", "app", "True", 90*time.Second)
		var dep appsv1.Deployment
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "features", Name: "pre-web-suf"}, &dep); err != nil {
			t.Fatal(err)
		}
		if *dep.Spec.Replicas != 3 || dep.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" || dep.Labels["team"] != "platform" {
			t.Errorf("deployment: replicas %d, image %s, labels %v", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image, dep.Labels)
		}
		var cm corev1.ConfigMap
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "features", Name: "pre-settings-suf"}, &cm); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"cluster": "staging", "region": "ap-south-1", "token": "tok-123"}
		for k, v := range want {
			if cm.Data[k] != v {
				t.Errorf("substituted %s = %q, want %q", k, cm.Data[k], v)
			}
		}
	})

	t.Run("deleting a pruning Kustomization deletes what it applied", func(t *testing.T) {
		ks := getKustomization(t, c, "flux-system", "app")
		if err := c.Delete(context.Background(), ks); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, 30*time.Second, "Deployment pre-web-suf deleted with its Kustomization", "features", "pre-web-suf", &appsv1.Deployment{})
		// base does not depend on app and stays.
		if err := c.Get(context.Background(), types.NamespacedName{Name: "features"}, &corev1.Namespace{}); err != nil {
			t.Errorf("Namespace features of Kustomization base is gone: %v", err)
		}
	})

	t.Run("kubeConfig.secretRef applies to another cluster", func(t *testing.T) {
		first, rotated := "flux-first-"+randomText(16), "flux-rotated-"+randomText(16)
		remote, err := testenv.Start(testenv.Options{Audit: true, Users: []testenv.User{
			{Name: "flux-first", Token: first, Groups: []string{"system:masters"}},
			{Name: "flux-rotated", Token: rotated, Groups: []string{"system:masters"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Stop()
		admin, err := os.ReadFile(remote.KubeconfigPath)
		if err != nil {
			t.Fatal(err)
		}
		// kubeconfigAs is the remote's kubeconfig with the admin's token
		// replaced by token.
		kubeconfigAs := func(token string) string {
			if !strings.Contains(string(admin), remote.Config.BearerToken) {
				t.Fatal("the remote kubeconfig does not hold the admin's token")
			}
			return strings.ReplaceAll(string(admin), remote.Config.BearerToken, token)
		}
		upsertSecret(t, c, "flux-system", "remote-kubeconfig", map[string]string{"value": kubeconfigAs(first)})
		applyYAML(t, `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: remote, namespace: flux-system}
spec:
  interval: 1m
  path: ./remote
  prune: true
  kubeConfig: {secretRef: {name: remote-kubeconfig}}
  sourceRef: {kind: GitRepository, name: features}
`)
		waitKustomization(t, c, "flux-system", "remote", "True", 90*time.Second)
		rc := kubernetes.NewForConfigOrDie(remote.Config)
		cm, err := rc.CoreV1().ConfigMaps("default").Get(context.Background(), "from-tether", metav1.GetOptions{})
		if err != nil || cm.Data["where"] != "remote" {
			t.Fatalf("ConfigMap not on the remote cluster: %v %v", cm, err)
		}
		local := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "from-tether"}, local); err == nil {
			t.Errorf("ConfigMap from-tether was also applied to the local cluster")
		}
		// The interval is a minute: only watches on the remote cluster
		// can put an edit back this soon.
		cm.Data["where"] = "edited"
		if _, err := rc.CoreV1().ConfigMaps("default").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "remote drift put back", func(ctx context.Context) error {
			cm, err := rc.CoreV1().ConfigMaps("default").Get(ctx, "from-tether", metav1.GetOptions{})
			if err != nil || cm.Data["where"] != "remote" {
				return fmt.Errorf("data %v (err %v)", cm.Data, err)
			}
			return nil
		})

		// Its objects are read from the remote cluster's live cache: a forced
		// reconcile that changes nothing sends no read nor dry run of them.
		reads := func() []string {
			events, err := remote.AuditEvents()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range events {
				if e.User.Username == "flux-first" && strings.Contains(e.RequestURI, "/configmaps/from-tether") && (e.Verb == "get" || e.Verb == "patch") {
					out = append(out, e.Verb+" "+e.RequestURI)
				}
			}
			return out
		}
		waitKustomization(t, c, "flux-system", "remote", "True", 30*time.Second)
		before := len(reads())
		requestKustomizationReconcile(t, c, "flux-system", "remote")
		if after := reads(); len(after) != before {
			t.Errorf("a forced reconcile of an unchanged remote Kustomization read or dry-ran its ConfigMap: %v", after[before:])
		}

		ended := func(user string) func(context.Context) error {
			return func(context.Context) error { return watchesEnded(remote, user) }
		}
		if err := ended("flux-first")(context.Background()); err == nil {
			t.Fatal("a watch of the first kubeconfig ended before the rotation: the check below would prove nothing")
		}
		upsertSecret(t, c, "flux-system", "remote-kubeconfig", map[string]string{"value": kubeconfigAs(rotated)})
		requestKustomizationReconcile(t, c, "flux-system", "remote")
		eventually(t, 20*time.Second, "the first kubeconfig's watches stopped", ended("flux-first"))
		waitKustomization(t, c, "flux-system", "remote", "True", 60*time.Second)
		if err := ended("flux-rotated")(context.Background()); err == nil {
			t.Fatal("a watch of the rotated kubeconfig ended before its Secret was removed")
		}
		if err := c.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "remote-kubeconfig"}}); err != nil {
			t.Fatal(err)
		}
		ks := getKustomization(t, c, "flux-system", "remote")
		patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano)))
		if err := c.Patch(context.Background(), ks, client.RawPatch(types.MergePatchType, patch)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the removed kubeconfig's watches stopped", ended("flux-rotated"))
		// Put it back, so that the Kustomization can prune when deleted.
		upsertSecret(t, c, "flux-system", "remote-kubeconfig", map[string]string{"value": kubeconfigAs(rotated)})
		requestKustomizationReconcile(t, c, "flux-system", "remote")
	})

	t.Run("a kubeconfig that runs a credential plugin is refused (CVE-2022-24817)", func(t *testing.T) {
		refusedKubeconfig(t, c, "plugin",
			`{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch /tmp/tether-pwned"]}}`,
			"credential plugin", "--allow-kubeconfig-plugins")
		if _, err := os.Stat("/tmp/tether-pwned"); err == nil {
			t.Errorf("the kubeconfig's exec plugin ran")
		}
	})

	t.Run("a kubeconfig that reads Tether's own token file is refused", func(t *testing.T) {
		refusedKubeconfig(t, c, "tokenfile", `{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}`,
			"tokenFile", "file on Tether's disk")
	})
}

// refusedKubeconfig applies a Kustomization named name whose kubeConfig
// Secret holds a kubeconfig with the given user, and checks that it fails
// with a Ready message holding every one of want.
func refusedKubeconfig(t *testing.T, c client.Client, name, user string, want ...string) {
	t.Helper()
	upsertSecret(t, c, "flux-system", name+"-kubeconfig", map[string]string{"value": `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: ` + user + `}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`})
	applyYAML(t, fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: %s, namespace: flux-system}
spec:
  interval: 1m
  path: ./remote
  prune: true
  kubeConfig: {secretRef: {name: %s-kubeconfig}}
  sourceRef: {kind: GitRepository, name: features}
`, name, name))
	ks := waitKustomization(t, c, "flux-system", name, "False", 60*time.Second)
	if msg := readyMessage(ks.Status.Conditions); !containsAll(msg, want...) {
		t.Errorf("Ready message %q does not explain the refusal", msg)
	}
}

// TestKustomizationNeverShowsSubstitutedSecrets substitutes a Secret value
// that breaks the YAML (a password starting with "*" reads as an alias)
// and checks the failure does not quote it.
func TestKustomizationNeverShowsSubstitutedSecrets(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "leaky")
	repo.Commit(t, "master", map[string]string{
		"leaky/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaky, namespace: default}\ndata:\n  password: ${db_password}\n",
	}, "leaky")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/")
	const password = "*Sup3rS3cretDbPass"
	upsertSecret(t, c, "flux-system", "db", map[string]string{"db_password": password})
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: leaky, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/leaky.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: leaky, namespace: flux-system}
spec:
  interval: 1m
  path: ./leaky
  prune: true
  postBuild: {substituteFrom: [{kind: Secret, name: db}]}
  sourceRef: {kind: GitRepository, name: leaky}
`)
	var msg string
	eventually(t, 60*time.Second, "Kustomization leaky fails", func(ctx context.Context) error {
		ks := getKustomization(t, c, "flux-system", "leaky")
		if readyReason(ks.Status.Conditions) != "BuildFailed" {
			return fmt.Errorf("Ready %s: %s", readyReason(ks.Status.Conditions), readyMessage(ks.Status.Conditions))
		}
		msg = readyMessage(ks.Status.Conditions)
		return nil
	})
	t.Logf("leaky: %s", msg)
	for _, form := range []string{password, strings.TrimPrefix(password, "*")} {
		if strings.Contains(msg, form) {
			t.Errorf("Ready message quotes the Secret value")
		}
		if strings.Contains(tether.Logs.String(), form) {
			t.Errorf("tether's logs quote the Secret value")
		}
		checkNoSecret(t, c, form)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

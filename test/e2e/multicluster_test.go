package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestMultiClusterSeed04 runs the seed's 04 example with its cluster
// Secret rewritten only in server, token and CA to a second real control
// plane: the app's objects appear there and not in the local cluster; a
// wrong token gives a clear connection error in the app's status, never
// the token itself.
func TestMultiClusterSeed04(t *testing.T) {
	c := kubeClient(t)
	token := "tether-remote-" + randomText(24)
	rotated := "tether-rotated-" + randomText(24)
	remote, err := testenv.Start(testenv.Options{Audit: true, Users: []testenv.User{
		{Name: "argocd-manager", Token: token, Groups: []string{"system:masters"}},
		{Name: "argocd-manager-rotated", Token: rotated, Groups: []string{"system:masters"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remote.Stop)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "multi-cluster-app")
	head := repo.Commit(t, "master", map[string]string{"k8s/base/cm.yaml": configMap("multi-cluster-config", "")}, "app")
	// A long resync period: drift on the second cluster must be seen
	// through its watches, not by polling.
	tether := startTether(t, "--url-rewrite", "https://github.com/example/multi-cluster-app.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "1h")
	var secret *unstructured.Unstructured
	for _, o := range seedObjects(t, filepath.Join(seedDir, "04-argo-multi-cluster.yaml")) {
		if o.GetKind() == "Secret" {
			secret = o
			continue
		}
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	t.Cleanup(func() { deleteApp(t, c, "argocd", "multi-cluster-app") })
	// clusterSecret is the seed's Secret with only server, token and CA
	// (and, when given, its names and namespaces) changed.
	clusterSecret := func(t *testing.T, bearer string, edits map[string]string) *unstructured.Unstructured {
		t.Helper()
		s := secret.DeepCopy()
		cfg := map[string]any{}
		config, _, _ := unstructured.NestedString(s.Object, "stringData", "config")
		if err := json.Unmarshal([]byte(config), &cfg); err != nil {
			t.Fatal(err)
		}
		cfg["bearerToken"] = bearer
		cfg["tlsClientConfig"].(map[string]any)["caData"] = base64.StdEncoding.EncodeToString(remote.Config.CAData)
		data, _ := json.Marshal(cfg)
		_ = unstructured.SetNestedField(s.Object, string(data), "stringData", "config")
		_ = unstructured.SetNestedField(s.Object, remote.Config.Host, "stringData", "server")
		for k, v := range edits {
			if k == "metadata.name" {
				s.SetName(v)
				continue
			}
			_ = unstructured.SetNestedField(s.Object, v, "stringData", k)
		}
		return s
	}
	writeCluster := func(t *testing.T, bearer string) { applyObjects(t, clusterSecret(t, bearer, nil)) }

	t.Run("the app's objects appear in the second cluster, not the first", func(t *testing.T) {
		writeCluster(t, token)
		waitApp(t, c, "argocd", "multi-cluster-app", head, "Synced", "Healthy", 60*time.Second)
		rc := kubernetes.NewForConfigOrDie(remote.Config)
		if _, err := rc.CoreV1().ConfigMaps("default").Get(context.Background(), "multi-cluster-config", metav1.GetOptions{}); err != nil {
			t.Errorf("not in the second cluster: %v", err)
		}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "multi-cluster-config"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("in the local cluster too: %v", err)
		}
	})

	t.Run("drift on the second cluster is put back within 5 seconds", func(t *testing.T) {
		rc := kubernetes.NewForConfigOrDie(remote.Config)
		ctx := context.Background()
		cm, err := rc.CoreV1().ConfigMaps("default").Get(ctx, "multi-cluster-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["a"] = "drifted"
		if _, err := rc.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "remote ConfigMap put back", func(ctx context.Context) error {
			cm, err := rc.CoreV1().ConfigMaps("default").Get(ctx, "multi-cluster-config", metav1.GetOptions{})
			if err != nil || cm.Data["a"] != "b" {
				return fmt.Errorf("data %v (err %v)", cm.Data, err)
			}
			return nil
		})
	})

	t.Run("a namespace-limited cluster refuses cluster-scoped objects", func(t *testing.T) {
		head = repo.Commit(t, "master", map[string]string{"k8s/limited/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: not-allowed-here\n"}, "a namespace")
		applyObjects(t, clusterSecret(t, token, map[string]string{"metadata.name": "limited-cluster", "name": "limited", "namespaces": "default"}))
		applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: limited-app, namespace: argocd, annotations: {argocd.argoproj.io/refresh: normal}}
spec:
  project: default
  source: {repoURL: "https://github.com/example/multi-cluster-app.git", targetRevision: HEAD, path: k8s/limited}
  destination: {name: limited, namespace: default}
  syncPolicy: {automated: {prune: true}}
`)
		t.Cleanup(func() { deleteApp(t, c, "argocd", "limited-app") })
		var app argov1.Application
		eventually(t, 30*time.Second, "sync refused", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "limited-app"}, &app); err != nil {
				return err
			}
			if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationFailed || !strings.Contains(st.Message, "clusterResources") {
				return fmt.Errorf("%s", operationSummary(st))
			}
			return nil
		})
	})

	t.Run("a namespace-limited cluster refuses an object naming another namespace, and writes nothing", func(t *testing.T) {
		head = repo.Commit(t, "master", map[string]string{"k8s/elsewhere/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limited-ok}\ndata: {a: b}\n" +
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: limited-elsewhere, namespace: kube-system}\ndata: {a: b}\n"}, "an object in another namespace")
		applyObjects(t, clusterSecret(t, token, map[string]string{"metadata.name": "limited-cluster", "name": "limited", "namespaces": "default"}))
		applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: limited-elsewhere, namespace: argocd, annotations: {argocd.argoproj.io/refresh: normal}}
spec:
  project: default
  source: {repoURL: "https://github.com/example/multi-cluster-app.git", targetRevision: HEAD, path: k8s/elsewhere}
  destination: {name: limited, namespace: default}
  syncPolicy: {automated: {prune: true}}
`)
		t.Cleanup(func() { deleteApp(t, c, "argocd", "limited-elsewhere") })
		var app argov1.Application
		eventually(t, 30*time.Second, "sync refused", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "limited-elsewhere"}, &app); err != nil {
				return err
			}
			if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationFailed || !strings.Contains(st.Message, "namespace kube-system is not managed on cluster limited") {
				return fmt.Errorf("%s", operationSummary(app.Status.OperationState))
			}
			return nil
		})
		rc := kubernetes.NewForConfigOrDie(remote.Config)
		for _, key := range []types.NamespacedName{{Namespace: "kube-system", Name: "limited-elsewhere"}, {Namespace: "default", Name: "limited-ok"}} {
			if _, err := rc.CoreV1().ConfigMaps(key.Namespace).Get(context.Background(), key.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("ConfigMap %s written on the limited cluster: %v", key, err)
			}
		}
	})

	// The watches of a credential Tether no longer uses must end at once
	// (client-go's own watch timeouts are 5 to 10 minutes).
	ended := func(user string) func(context.Context) error {
		return func(context.Context) error { return watchesEnded(remote, user) }
	}
	t.Run("a rotated token replaces the cluster's watches; a removed cluster stops them", func(t *testing.T) {
		ctx := context.Background()
		if err := ended("argocd-manager")(ctx); err == nil {
			t.Fatal("a watch of the first credential ended before the rotation: the check below would prove nothing")
		}
		writeCluster(t, rotated)
		eventually(t, 20*time.Second, "the first credential's watches stopped", ended("argocd-manager"))
		rc := kubernetes.NewForConfigOrDie(remote.Config)
		waitApp(t, c, "argocd", "multi-cluster-app", head, "Synced", "Healthy", 60*time.Second)
		// The new credential's watches start with the app's next
		// comparison: drift the ConfigMap until one drift is put back
		// (the resync period is an hour, so only a watch can do it).
		drifts := 0
		eventually(t, 30*time.Second, "a drift put back through the new credential's watches", func(ctx context.Context) error {
			cm, err := rc.CoreV1().ConfigMaps("default").Get(ctx, "multi-cluster-config", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if drifts > 0 && cm.Data["a"] == "b" {
				return nil
			}
			drifts++
			cm.Data["a"] = fmt.Sprintf("drifted-after-rotation-%d", drifts)
			if _, err := rc.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				return err
			}
			time.Sleep(time.Second)
			return fmt.Errorf("drifted %d times", drifts)
		})
		if err := ended("argocd-manager-rotated")(ctx); err == nil {
			t.Fatal("a watch of the rotated credential ended before its Secret was removed")
		}
		s := clusterSecret(t, rotated, nil)
		if err := c.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the removed cluster's watches stopped", ended("argocd-manager-rotated"))
		writeCluster(t, token)
		waitApp(t, c, "argocd", "multi-cluster-app", head, "Synced", "Healthy", 60*time.Second)
	})

	t.Run("a wrong token is a clear connection error, never the token", func(t *testing.T) {
		wrong := "wrong-" + randomText(24)
		writeCluster(t, wrong)
		app := waitCondition(t, c, "multi-cluster-app", argov1.ApplicationConditionComparisonError, "authentication failed (401 Unauthorized)")
		status, _ := json.Marshal(app.Status)
		var events corev1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace("argocd")); err != nil {
			t.Fatal(err)
		}
		eventText, _ := json.Marshal(events.Items)
		for _, s := range []string{wrong, token} {
			for where, text := range map[string]string{"status": string(status), "events": string(eventText), "logs": tether.Logs.String()} {
				if strings.Contains(text, s) {
					t.Errorf("a token appears in %s", where)
				}
			}
		}
	})
}

// applyObjects server-side applies objects as the test's admin.
func applyObjects(t *testing.T, objs ...*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if _, err := newApplier(t).Apply(context.Background(), o); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

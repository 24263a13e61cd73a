package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/tether-gitops/tether/internal/cli/install"

	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// kustomizeBuild builds dir as `kubectl apply -k` would.
func kustomizeBuild(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := install.Build(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestInstallArgoCDCompat: config/install/overlays/argocd-compat is
// accepted by the API server as `kubectl apply -k` sends it; the seed's 11
// NetworkPolicy and 12 ServiceMonitor, as written, select its Deployment's
// pods and its metrics Service. Pods do not run on this control plane
// (kwok fakes them), so the Deployment's own command line runs as a local
// process with a token of the install's ServiceAccount, its addresses
// moved to loopback: seed 01 syncs through it, with only the rights the
// install grants.
func TestInstallArgoCDCompat(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	objs := kustomizeBuild(t, filepath.Join("..", "..", "config", "install", "overlays", "argocd-compat"))
	for _, o := range objs {
		if err := c.Patch(ctx, o, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	t.Cleanup(func() {
		for _, o := range objs {
			switch o.GetKind() {
			case "CustomResourceDefinition", "Namespace": // shared with the other tests
			default:
				_ = c.Delete(context.Background(), o)
			}
		}
	})

	// The seed's selectors, as written.
	policy := seedObjects(t, filepath.Join(seedDir, "11-networkpolicy-server.yaml"))[0]
	podSel, _, _ := unstructured.NestedStringMap(policy.Object, "spec", "podSelector", "matchLabels")
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, client.InNamespace(policy.GetNamespace())); err != nil {
		t.Fatal(err)
	}
	var selected []string
	for _, d := range deps.Items {
		if labels.SelectorFromSet(podSel).Matches(labels.Set(d.Spec.Template.Labels)) {
			selected = append(selected, d.Name)
			if ports := d.Spec.Template.Spec.Containers[0].Ports; !slices.ContainsFunc(ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == 8080 }) {
				t.Errorf("the pods seed 11 selects expose %v, not 8080", ports)
			}
		}
	}
	if !slices.Equal(selected, []string{"argocd-server"}) {
		t.Errorf("seed 11 selects the pods of %v, want argocd-server's", selected)
	}
	monitor := seedObjects(t, filepath.Join(seedDir, "12-servicemonitor.yaml"))[0]
	svcSel, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs, client.InNamespace(monitor.GetNamespace()), client.MatchingLabels(svcSel)); err != nil {
		t.Fatal(err)
	}
	if len(svcs.Items) != 1 || svcs.Items[0].Name != "argocd-metrics" || svcs.Items[0].Spec.Ports[0].Name != "metrics" {
		t.Errorf("seed 12 selects %+v, want argocd-metrics with a port named metrics", svcs.Items)
	}

	// The Deployment's command, as the install's ServiceAccount.
	env := cluster(t)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	token, err := cs.CoreV1().ServiceAccounts("argocd").CreateToken(ctx, "tether",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(&rest.Config{Host: env.Config.Host, BearerToken: token.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData}}, kubeconfig); err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-server"}, &dep); err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args[1:] { // after "run"
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--server-addr", "--metrics-addr", "--health-addr", "--storage-addr", "--storage-adv-addr", "--storage-path":
			// the test defaults: loopback, free ports, a temporary folder
		default:
			args = append(args, a)
		}
	}
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "argocd-example-apps")
	head := repo.Commit(t, "master", guestbookFiles(t), "guestbook")
	tether := startTether(t, append(args, "--kubeconfig", kubeconfig,
		"--url-rewrite", "https://github.com/argoproj/argocd-example-apps.git="+repo.URL, "--git-resolve-ttl", "1s")...)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "01-argo-application-guestbook.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	t.Cleanup(func() { deleteApp(t, c, "argocd", "guestbook") })
	waitApp(t, c, "argocd", "guestbook", head, "Synced", "Healthy", 2*time.Minute)
	if logs := tether.Logs.String(); strings.Contains(logs, "is forbidden") {
		t.Errorf("the install's rights were not enough:\n%s", grepLines(logs, "is forbidden"))
	}
}

func ptrTo[T any](v T) *T { return &v }

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHelmChartInstall: the chart generated from the base installs with
// the real helm CLI into a namespace of the user's choice, with values
// (image tag, extra arguments); the Deployment becomes available (kwok)
// running what the values say, and `helm uninstall` removes it and keeps
// the CRDs (Helm never deletes crds/).
func TestHelmChartInstall(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	home := t.TempDir()
	helm := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(helmBinary(t), append(args, "--kubeconfig", cluster(t).KubeconfigPath)...)
		cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	chart := filepath.Join("..", "..", "config", "helm", "tether")
	out := helm("install", "tether", chart, "--namespace", "tether-helm", "--create-namespace", "--wait", "--timeout", "2m",
		"--set", "image.tag=v9.9.9", "--set", "extraArgs[0]=--url-rewrite=https://github.com/=http://mirror.local/")
	if !strings.Contains(out, "STATUS: deployed") || !strings.Contains(out, "Tether runs in tether-helm.") {
		t.Errorf("helm install:\n%s", out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(helmBinary(t), "uninstall", "tether", "--namespace", "tether-helm", "--kubeconfig", cluster(t).KubeconfigPath)
		cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
		_, _ = cmd.CombinedOutput()
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tether-helm"}})
	})
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "tether-helm", Name: "tether"}, &dep); err != nil {
		t.Fatal(err)
	}
	ctr := dep.Spec.Template.Spec.Containers[0]
	if ctr.Image != "ghcr.io/tether-gitops/tether:v9.9.9" || !slices.Contains(ctr.Args, "--url-rewrite=https://github.com/=http://mirror.local/") ||
		!slices.Contains(ctr.Args, "--storage-adv-addr=tether-artifacts.tether-helm.svc.cluster.local") {
		t.Errorf("container %s %v", ctr.Image, ctr.Args)
	}
	if dep.Status.AvailableReplicas != 1 {
		t.Errorf("available replicas %d after helm --wait", dep.Status.AvailableReplicas)
	}
	var crb rbacv1.ClusterRoleBinding
	if err := c.Get(ctx, client.ObjectKey{Name: "tether-controller"}, &crb); err != nil || crb.Subjects[0].Namespace != "tether-helm" {
		t.Errorf("ClusterRoleBinding tether-controller: %v %+v", err, crb.Subjects)
	}

	helm("uninstall", "tether", "--namespace", "tether-helm", "--wait", "--timeout", "2m")
	if err := c.Get(ctx, client.ObjectKey{Namespace: "tether-helm", Name: "tether"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after uninstall: %v", err)
	}
	var crd unstructured.Unstructured
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	if err := c.Get(ctx, client.ObjectKey{Name: "applications.argoproj.io"}, &crd); err != nil {
		t.Errorf("CRD after uninstall: %v", err)
	}
}

// Package install holds Tether's install manifests (a Kustomize base and
// overlays) and the test that they build and are selected, as written, by
// the seed's NetworkPolicy (11) and ServiceMonitor (12).
package install

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/tether-gitops/tether/internal/cli/install"
	"sigs.k8s.io/yaml"
)

// build runs Kustomize over dir (relative to config/) as kubectl apply -k
// would.
func build(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Build(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// seed reads one of the seed examples as an object.
func seed(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "test", "e2e", "testdata", "seed-examples", file))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return o
}

func selectorOf(t *testing.T, o *unstructured.Unstructured, path ...string) labels.Selector {
	t.Helper()
	m, _, err := unstructured.NestedStringMap(o.Object, path...)
	if err != nil || len(m) == 0 {
		t.Fatalf("%s %s: no selector at %v (%v)", o.GetKind(), o.GetName(), path, err)
	}
	return labels.SelectorFromSet(m)
}

func podLabels(t *testing.T, d *unstructured.Unstructured) labels.Set {
	t.Helper()
	m, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	return m
}

func portNames(o *unstructured.Unstructured, path ...string) (names []string, numbers []int64) {
	ports, _, _ := unstructured.NestedSlice(o.Object, path...)
	for _, p := range ports {
		m, _ := p.(map[string]any)
		n, _ := m["name"].(string)
		names = append(names, n)
		for _, k := range []string{"containerPort", "port"} {
			if v, ok := m[k].(int64); ok {
				numbers = append(numbers, v)
			}
		}
	}
	return names, numbers
}

// checkInstall checks what every variant must hold: every namespaced
// object in ns, the bindings naming the ServiceAccount there, the CRDs,
// and each Service selecting the Deployment's pods.
func checkInstall(t *testing.T, objs []*unstructured.Unstructured, ns, deployment string) *unstructured.Unstructured {
	t.Helper()
	dep := find(objs, "Deployment", deployment)
	if dep == nil {
		t.Fatalf("no Deployment %s", deployment)
	}
	crds := 0
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			crds++
		case "ClusterRoleBinding":
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			if s, _ := subjects[0].(map[string]any); s["namespace"] != ns || s["name"] != "tether" {
				t.Errorf("ClusterRoleBinding %s binds %v, want ServiceAccount %s/tether", o.GetName(), s, ns)
			}
		case "Namespace", "ClusterRole":
		case "Service":
			if !selectorOf(t, o, "spec", "selector").Matches(podLabels(t, dep)) {
				t.Errorf("Service %s does not select the Deployment's pods", o.GetName())
			}
			fallthrough
		default:
			if o.GetNamespace() != ns {
				t.Errorf("%s %s in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), ns)
			}
		}
	}
	if crds != 17 {
		t.Errorf("%d CRDs, want 17", crds)
	}
	if find(objs, "Namespace", ns) == nil {
		t.Errorf("no Namespace %s", ns)
	}
	return dep
}

func TestBase(t *testing.T) {
	objs := build(t, "install/base")
	dep := checkInstall(t, objs, "tether-system", "tether")
	// `tether logs` finds the pods by this label in tether-system.
	if podLabels(t, dep)["app.kubernetes.io/name"] != "tether" {
		t.Errorf("pod labels %v", podLabels(t, dep))
	}
}

// The seed's NetworkPolicy (11) and ServiceMonitor (12), as written,
// select the argocd-compat install: the API's pods on port 8080, the
// metrics Service by its port named metrics.
func TestArgoCDCompat(t *testing.T) {
	objs := build(t, "install/overlays/argocd-compat")
	dep := checkInstall(t, objs, "argocd", "argocd-server")
	policy := seed(t, "11-networkpolicy-server.yaml")
	if policy.GetNamespace() != "argocd" || !selectorOf(t, policy, "spec", "podSelector", "matchLabels").Matches(podLabels(t, dep)) {
		t.Errorf("seed 11 does not select the Deployment's pods %v", podLabels(t, dep))
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c0 := &unstructured.Unstructured{Object: containers[0].(map[string]any)}
	if _, numbers := portNames(c0, "ports"); !slices.Contains(numbers, int64(8080)) {
		t.Errorf("the container's ports %v lack 8080, which seed 11 opens", numbers)
	}
	if args, _, _ := unstructured.NestedStringSlice(c0.Object, "args"); !slices.Contains(args, "--server-addr=:8080") {
		t.Errorf("the API does not listen on 8080: %v", args)
	}
	monitor := seed(t, "12-servicemonitor.yaml")
	sel := selectorOf(t, monitor, "spec", "selector", "matchLabels")
	var selected []string
	for _, o := range objs {
		if o.GetKind() == "Service" && o.GetNamespace() == monitor.GetNamespace() && sel.Matches(labels.Set(o.GetLabels())) {
			selected = append(selected, o.GetName())
			if names, _ := portNames(o, "spec", "ports"); !slices.Contains(names, "metrics") {
				t.Errorf("Service %s has no port named metrics: %v", o.GetName(), names)
			}
		}
	}
	if !slices.Equal(selected, []string{"argocd-metrics"}) {
		t.Errorf("seed 12 selects %v, want [argocd-metrics]", selected)
	}
}

func TestFluxCompat(t *testing.T) {
	objs := build(t, "install/overlays/flux-compat")
	dep := checkInstall(t, objs, "flux-system", "tether")
	if podLabels(t, dep)["app"] != "source-controller" {
		t.Errorf("pod labels %v lack app: source-controller", podLabels(t, dep))
	}
	svc := find(objs, "Service", "source-controller")
	if svc == nil {
		t.Fatal("no Service source-controller")
	}
	if _, numbers := portNames(svc, "spec", "ports"); !slices.Contains(numbers, int64(80)) {
		t.Errorf("source-controller ports %v, want 80", numbers)
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	if !slices.Contains(args, "--storage-adv-addr=source-controller.flux-system.svc.cluster.local") {
		t.Errorf("artifact URLs do not name source-controller: %v", args)
	}
	if find(objs, "Service", "webhook-receiver") == nil {
		t.Error("no Service webhook-receiver")
	}
}

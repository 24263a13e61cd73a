package install

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/cli/install"
)

// chartDir is the chart in the repository, relative to this package.
var chartDir = filepath.Join("..", "helm", "tether")

// TestChartIsGeneratedFromTheBase: the chart in the repository is exactly
// what `make chart` generates from config/install/base, so the two never
// drift apart.
func TestChartIsGeneratedFromTheBase(t *testing.T) {
	want, err := install.ChartFiles("0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	err = filepath.WalkDir(chartDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		onDisk = append(onDisk, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range onDisk {
		got, _ := os.ReadFile(filepath.Join(chartDir, name))
		if w, ok := want[name]; !ok {
			t.Errorf("%s is in the chart but not generated: run make chart", name)
		} else if !bytes.Equal(got, w) {
			t.Errorf("%s differs from what make chart generates: run make chart", name)
		}
	}
	for name := range want {
		if !slices.Contains(onDisk, name) {
			t.Errorf("%s is generated but not in the chart: run make chart", name)
		}
	}
}

// render renders the chart in namespace with values, as `helm template`
// does, and returns its objects.
func render(t *testing.T, namespace string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: "tether", Namespace: namespace, IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for name, doc := range out {
		if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(doc) == "" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &o.Object); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, doc)
		}
		objs = append(objs, o)
	}
	return objs
}

// TestChartRendersTheBase: with its default values in tether-system the
// chart renders the base's objects, the Namespace and CRDs aside (Helm
// creates the namespace and installs crds/ itself).
func TestChartRendersTheBase(t *testing.T) {
	rendered := render(t, "tether-system", nil)
	var base []*unstructured.Unstructured
	for _, o := range build(t, "install/base") {
		if o.GetKind() != "Namespace" && o.GetKind() != "CustomResourceDefinition" {
			base = append(base, o)
		}
	}
	if len(rendered) != len(base) {
		t.Fatalf("rendered %d objects, the base has %d", len(rendered), len(base))
	}
	for _, want := range base {
		got := find(rendered, want.GetKind(), want.GetName())
		if got == nil {
			t.Errorf("%s %s not rendered", want.GetKind(), want.GetName())
			continue
		}
		if !reflect.DeepEqual(normal(t, got), normal(t, want)) {
			a, _ := yaml.Marshal(got.Object)
			b, _ := yaml.Marshal(want.Object)
			t.Errorf("%s %s differs:\nrendered:\n%s\nbase:\n%s", want.GetKind(), want.GetName(), a, b)
		}
	}
	crds, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	bases, _ := filepath.Glob(filepath.Join("..", "crd", "bases", "*.yaml"))
	if len(crds) != len(bases) || len(crds) == 0 {
		t.Errorf("crds/ holds %d CRDs, config/crd/bases %d", len(crds), len(bases))
	}
}

// normal is o as JSON would carry it (numbers of one type).
func normal(t *testing.T, o *unstructured.Unstructured) map[string]any {
	t.Helper()
	data, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestChartValues: the release namespace, image, replicas, resources,
// Argo CD namespace and extra arguments reach the objects.
func TestChartValues(t *testing.T) {
	objs := render(t, "ops", map[string]any{
		"image":           map[string]any{"repository": "registry.local/tether", "tag": "v1.2.3"},
		"replicas":        2,
		"argocdNamespace": "gitops",
		"resources":       map[string]any{"limits": map[string]any{"memory": "2Gi"}},
		"extraArgs":       []any{"--url-rewrite=https://github.com/=http://mirror.local/", "--log-level=debug"},
	})
	dep := find(objs, "Deployment", "tether")
	if dep == nil {
		t.Fatal("no Deployment")
	}
	c := dep.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if c["image"] != "registry.local/tether:v1.2.3" {
		t.Errorf("image %v", c["image"])
	}
	if r := normal(t, dep)["spec"].(map[string]any)["replicas"]; r != int64(2) && r != float64(2) {
		t.Errorf("replicas %v", r)
	}
	// Helm merges maps of values: the default requests stay.
	if want := map[string]any{"limits": map[string]any{"memory": "2Gi"}, "requests": map[string]any{"cpu": "100m", "memory": "128Mi"}}; !reflect.DeepEqual(c["resources"], want) {
		t.Errorf("resources %v, want %v", c["resources"], want)
	}
	args := c["args"].([]any)
	for _, want := range []string{"--argocd-namespace=gitops", "--storage-adv-addr=tether-artifacts.ops.svc.cluster.local",
		"--url-rewrite=https://github.com/=http://mirror.local/", "--log-level=debug"} {
		if !slices.Contains(args, any(want)) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, o := range objs {
		if o.GetNamespace() != "" && o.GetNamespace() != "ops" {
			t.Errorf("%s %s in namespace %s", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	crb := find(objs, "ClusterRoleBinding", "tether-controller")
	if subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects"); len(subjects) != 1 || subjects[0].(map[string]any)["namespace"] != "ops" {
		t.Errorf("binding subjects %v", subjects)
	}
}

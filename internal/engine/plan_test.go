package engine

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"
)

// planEngine is an engine whose mapper knows a few built-in kinds; the
// plan step needs nothing else.
func planEngine(t *testing.T) *Engine {
	t.Helper()
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk   schema.GroupVersionKind
		scope meta.RESTScope
	}{
		{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot},
		{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot},
		{schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, meta.RESTScopeRoot},
	} {
		m.Add(k.gvk, k.scope)
	}
	e, err := New(fake.NewClientBuilder().WithRESTMapper(m).Build(), ownerNamed("plan"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

const clusterCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.engine.tether.dev}
spec:
  group: engine.tether.dev
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
  versions: [{name: v1, served: true, storage: true}]
`

func TestPlanOrdersLabelsAndScopes(t *testing.T) {
	e := planEngine(t)
	deploy := obj(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nstatus: {replicas: 3}")
	inputs := []Input{
		{Obj: deploy},
		{Obj: obj(t, "apiVersion: engine.tether.dev/v1\nkind: Gadget\nmetadata: {name: g, namespace: stray}")},
		{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: other}")},
		{Obj: obj(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'system:reader', namespace: stray}")},
		{Obj: obj(t, clusterCRD)},
		{Obj: obj(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}")},
		{Obj: obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: pw}")},
	}
	p, err := e.plan(inputs, ApplyOptions{DefaultNamespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	want := Inventory{
		{ID: "_gadgets.engine.tether.dev_apiextensions.k8s.io_CustomResourceDefinition", Version: "v1"},
		{ID: "_apps__Namespace", Version: "v1"},
		{ID: "_system__reader_rbac.authorization.k8s.io_ClusterRole", Version: "v1"},
		{ID: "other_cm__ConfigMap", Version: "v1"},
		{ID: "apps_s__Secret", Version: "v1"},
		{ID: "apps_web_apps_Deployment", Version: "v1"},
		{ID: "_g_engine.tether.dev_Gadget", Version: "v1"},
	}
	if got := p.inventory(); !reflect.DeepEqual(got, want) {
		t.Errorf("inventory =\n%v\nwant\n%v", got, want)
	}
	for _, it := range p.items {
		if it.obj.GetLabels()["kustomize.toolkit.fluxcd.io/name"] != "plan" {
			t.Errorf("%s has no owner label", it.subject())
		}
	}
	if deploy.GetNamespace() != "" || deploy.GetLabels() != nil {
		t.Error("the input was modified")
	}
	web := p.items[5].obj
	if _, found, _ := unstructured.NestedMap(web.Object, "status"); found {
		t.Error("status kept")
	}
	secret := p.items[4].obj
	if data, _, _ := unstructured.NestedStringMap(secret.Object, "data"); data["password"] != "cHc=" {
		t.Errorf("Secret data = %v: stringData not folded into data", data)
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name   string
		inputs []Input
		opts   ApplyOptions
		want   []string
	}{
		{"no namespace", []Input{{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}"), Source: "cm.yaml"}}, ApplyOptions{},
			[]string{"cm.yaml: ConfigMap/cm: namespaced object without metadata.namespace, and no default namespace"}},
		{"no name", []Input{{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {}"), Source: "cm.yaml"}}, ApplyOptions{},
			[]string{"cm.yaml: ConfigMap has no metadata.name"}},
		{"no kind", []Input{{Obj: obj(t, "metadata: {name: x}")}}, ApplyOptions{},
			[]string{`object 1: object "x" has no apiVersion or kind`}},
		{"nil", []Input{{Source: "nil.yaml"}}, ApplyOptions{}, []string{"nil.yaml: no object"}},
		{"labels not a map", []Input{{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, labels: [a, b]}"), Source: "cm.yaml"}}, ApplyOptions{},
			[]string{"cm.yaml: ConfigMap cm: metadata.labels must be a map of strings"}},
		{"annotation not a string", []Input{{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {a: 1}}"), Source: "cm.yaml"}}, ApplyOptions{},
			[]string{"cm.yaml: ConfigMap cm: metadata.annotations must be a map of strings"}},
		{"CRD of another version", []Input{{Obj: obj(t, clusterCRD)}, {Obj: obj(t, "apiVersion: engine.tether.dev/v2\nkind: Gadget\nmetadata: {name: g}"), Source: "g.yaml"}}, ApplyOptions{},
			[]string{"g.yaml: Gadget/g: no kind Gadget in engine.tether.dev/v2"}},
		{"duplicate after defaulting", []Input{
			{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}"), Source: "a.yaml"},
			{Obj: obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: apps}"), Source: "b.yaml"}},
			ApplyOptions{DefaultNamespace: "apps"},
			[]string{"b.yaml: ConfigMap/apps/cm: duplicate: a.yaml declares the same object"}},
		{"secret values masked", []Input{
			{Obj: obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\nstringData: {password: opensesame}"), Source: "s.yaml"},
			{Obj: obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\nstringData: {password: opensesame}"), Source: "opensesame.yaml"}},
			ApplyOptions{}, []string{"***.yaml: Secret/apps/s: duplicate: s.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planEngine(t).plan(tc.inputs, tc.opts)
			if err == nil {
				t.Fatal("plan succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewNeedsOwnerLabelsAndFieldManager(t *testing.T) {
	c := fake.NewClientBuilder().Build()
	if _, err := New(c, Owner{Name: "x", FieldManager: "m"}); err == nil {
		t.Error("New accepted an owner without labels")
	}
	if _, err := New(c, Owner{Name: "x", Labels: map[string]string{"a": "b"}}); err == nil {
		t.Error("New accepted an owner without field manager")
	}
}

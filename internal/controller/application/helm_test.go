package application

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/render"
)

// CVE-2022-24348 / CVE-2022-31036: value files resolve inside the checkout
// only; a value file elsewhere in the repository is fine.
func TestHelmValueFilesStayInsideTheCheckout(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "values.yaml"), []byte("message: outside-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkout := t.TempDir()
	files := map[string]string{
		"charts/app/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 1.0.0\n",
		"charts/app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  message: {{ .Values.message | quote }}\n",
		"envs/prod/values.yaml":        "message: from-the-repository\n",
	}
	for name, data := range files {
		p := filepath.Join(checkout, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "values.yaml"), filepath.Join(checkout, "envs/linked.yaml")); err != nil {
		t.Fatal(err)
	}
	app := &argov1.Application{}
	app.Name = "app"
	app.Spec.Destination.Namespace = "ns"
	render := func(valueFile string) (string, error) {
		// Capabilities given, so no cluster is asked for them.
		src := argov1.ApplicationSource{Path: "charts/app", Helm: &argov1.ApplicationSourceHelm{
			ValueFiles: []string{valueFile}, KubeVersion: "v1.35.4", APIVersions: []string{"v1"}}}
		objs, err := (&Reconciler{}).renderHelmDir(context.Background(), app, src, checkout)
		if err != nil {
			return "", err
		}
		msg, _, _ := unstructured.NestedString(objs[0].Obj.Object, "data", "message")
		return msg, nil
	}
	if got, err := render("../../envs/prod/values.yaml"); err != nil || got != "from-the-repository" {
		t.Errorf("a value file elsewhere in the repository: %q, %v", got, err)
	}
	for _, bad := range []string{"../../../" + filepath.Base(outside) + "/values.yaml", "../../envs/linked.yaml", filepath.Join(outside, "values.yaml")} {
		got, err := render(bad)
		if err == nil {
			t.Errorf("value file %q outside the checkout was read: %q", bad, got)
			continue
		}
		if strings.Contains(err.Error(), "outside-secret") {
			t.Errorf("the error shows the outside file: %v", err)
		}
	}
}

func TestArgoHooksFromHelmHooks(t *testing.T) {
	obj := func(ann map[string]string) render.Object {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "j"}}}
		if ann != nil {
			u.SetAnnotations(ann)
		}
		return render.Object{Obj: u}
	}
	cases := []struct {
		name string
		ann  map[string]string
		keep bool
		want map[string]string
	}{
		{"plain object", nil, true, nil},
		{"pre-install", map[string]string{helmHook: "pre-install,pre-upgrade", helmHookWeight: "-2", helmHookDeletePolicy: "before-hook-creation,hook-succeeded"}, true,
			map[string]string{argov1.AnnotationHook: "PreSync", argov1.AnnotationSyncWave: "-2", argov1.AnnotationHookDeletePolicy: "BeforeHookCreation,HookSucceeded"}},
		{"post-upgrade", map[string]string{helmHook: "post-upgrade"}, true, map[string]string{argov1.AnnotationHook: "PostSync"}},
		{"test hooks are left out", map[string]string{helmHook: "test"}, false, nil},
		{"pre-delete is left out", map[string]string{helmHook: "pre-delete"}, false, nil},
		{"crd-install is an ordinary object", map[string]string{helmHook: "crd-install"}, true, map[string]string{argov1.AnnotationHook: ""}},
		{"an Argo CD hook wins", map[string]string{helmHook: "test", argov1.AnnotationHook: "Sync"}, true, map[string]string{argov1.AnnotationHook: "Sync"}},
		{"resource-policy keep", map[string]string{helmResourcePolicy: "keep"}, true, map[string]string{argov1.AnnotationSyncOptions: "Delete=false"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := obj(c.ann)
			before := in.Obj.DeepCopy()
			out := argoHooks([]render.Object{in})
			if !reflect.DeepEqual(in.Obj, before) {
				t.Errorf("the input object was changed; rendered objects may be shared through a cache")
			}
			if (len(out) == 1) != c.keep {
				t.Fatalf("kept %d objects, want keep=%v", len(out), c.keep)
			}
			if !c.keep {
				return
			}
			got := out[0].Obj.GetAnnotations()
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// Parameter values with commas stay one value (Argo CD escapes them), a
// {a,b} value is a list, and file parameters are taken whole.
func TestHelmParametersWithCommas(t *testing.T) {
	values := map[string]any{}
	for _, p := range []argov1.HelmParameter{
		{Name: "hosts", Value: "a.com,b.com"},
		{Name: "list", Value: "{x,y}"},
		{Name: "escaped", Value: `c\,d`},
	} {
		if err := helm.SetValue(values, p.Name, escapeCommas(p.Value), p.ForceString); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
	}
	if err := helm.SetFile(values, "config", []byte("k=v, w=\"z\"\n")); err != nil {
		t.Fatal(err)
	}
	if values["hosts"] != "a.com,b.com" || values["escaped"] != "c,d" || values["config"] != "k=v, w=\"z\"\n" {
		t.Errorf("values = %#v", values)
	}
	if l, ok := values["list"].([]any); !ok || len(l) != 2 {
		t.Errorf("list = %#v", values["list"])
	}
}

package helm

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func mustLoad(t *testing.T, dir string) *Chart {
	t.Helper()
	ch, err := loadDir(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// find returns the rendered object of kind and name, or nil.
func find(objs []Object, kind, name string) *Object {
	for i := range objs {
		if objs[i].Obj.GetKind() == kind && objs[i].Obj.GetName() == name {
			return &objs[i]
		}
	}
	return nil
}

// probeChart renders what Template hands to templates (release, namespace,
// capabilities), a pre-install hook, a test hook and, when asked, fails.
func probeChart(t *testing.T) *Chart {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
		"values.yaml": "size: 1\nfail: false\n",
		"values.schema.json": `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
			"properties": {"size": {"type": "integer"}}}`,
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-probe
  namespace: {{ .Release.Namespace }}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  hasWidget: {{ .Capabilities.APIVersions.Has "example.com/v1/Widget" | quote }}
  size: {{ .Values.size | quote }}
{{- if .Values.fail }}
{{ fail "probe asked to fail" }}
{{- end }}
`,
		"templates/hook.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre-install
  annotations:
    helm.sh/hook: pre-install
`,
		"templates/test.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers: [{name: t, image: busybox}]
`,
	})
	return mustLoad(t, dir)
}

func TestTemplate(t *testing.T) {
	podinfo := mustLoad(t, podinfoDir)
	withcrd := mustLoad(t, withcrdDir)
	probe := probeChart(t)
	tests := []struct {
		name  string
		chart *Chart
		opts  TemplateOptions
		// want and notWant are substrings of the output.
		want, notWant []string
		// check looks at the parsed objects.
		check func(t *testing.T, objs []Object)
		bug   string
	}{
		{
			name:  "podinfo with values",
			chart: podinfo,
			opts:  TemplateOptions{ReleaseName: "rel", Namespace: "apps", Values: map[string]any{"replicaCount": 3, "ui": map[string]any{"message": "hello"}}},
			want:  []string{"replicas: 3", "app.kubernetes.io/instance: rel", "image: \"ghcr.io/stefanprodan/podinfo:6.0.0\"", "message: \"hello\""},
			check: func(t *testing.T, objs []Object) {
				for _, k := range [][2]string{{"Deployment", "rel-podinfo"}, {"Service", "rel-podinfo"}, {"ConfigMap", "rel-podinfo-ui"}, {"Job", "rel-podinfo-test-connection"}} {
					if find(objs, k[0], k[1]) == nil {
						t.Errorf("no %s %s rendered", k[0], k[1])
					}
				}
				if d := find(objs, "Deployment", "rel-podinfo"); d != nil && d.Source != "podinfo/templates/deployment.yaml" {
					t.Errorf("Deployment source %q", d.Source)
				}
				if j := find(objs, "Job", "rel-podinfo-test-connection"); j != nil && j.Source != "podinfo/templates/tests/test-connection.yaml" {
					t.Errorf("test Job source %q", j.Source)
				}
			},
		},
		{
			name:  "podinfo defaults",
			chart: podinfo,
			opts:  TemplateOptions{ReleaseName: "podinfo", Namespace: "default"},
			want:  []string{"replicas: 1", "name: podinfo\n"},
		},
		{
			name:    "SkipTests drops the test hook only",
			chart:   podinfo,
			opts:    TemplateOptions{ReleaseName: "rel", Namespace: "apps", SkipTests: true},
			want:    []string{"kind: Deployment"},
			notWant: []string{"test-connection", "helm.sh/hook: test"},
		},
		{
			name:  "CRDs included",
			chart: withcrd,
			opts:  TemplateOptions{ReleaseName: "w", Namespace: "apps", IncludeCRDs: true},
			want:  []string{"kind: CustomResourceDefinition", "name: widgets.test.tether.dev", "kind: Widget", "name: w-widget"},
			check: func(t *testing.T, objs []Object) {
				if find(objs, "CustomResourceDefinition", "widgets.test.tether.dev") == nil {
					t.Error("CRD not among the objects")
				}
			},
		},
		{
			name:    "CRDs left out",
			chart:   withcrd,
			opts:    TemplateOptions{ReleaseName: "w", Namespace: "apps"},
			want:    []string{"kind: Widget", "name: w-widget", "name: w-withcrd"},
			notWant: []string{"CustomResourceDefinition", "widgets.test.tether.dev"},
		},
		{
			name:  "release, namespace and API versions",
			chart: probe,
			opts:  TemplateOptions{ReleaseName: "p", Namespace: "probe-ns", APIVersions: []string{"example.com/v1/Widget"}},
			want:  []string{"name: p-probe", "namespace: probe-ns", `hasWidget: "true"`},
		},
		{
			name:  "KubeVersion is .Capabilities.KubeVersion",
			chart: probe,
			opts:  TemplateOptions{ReleaseName: "p", Namespace: "probe-ns", KubeVersion: "v1.35.4"},
			want:  []string{`kube: "v1.35.4"`},
		},
		{
			name:  "API versions not given are absent",
			chart: probe,
			opts:  TemplateOptions{ReleaseName: "p", Namespace: "probe-ns"},
			want:  []string{`hasWidget: "false"`},
		},
		{
			name:    "SkipTests keeps other hooks",
			chart:   probe,
			opts:    TemplateOptions{ReleaseName: "p", Namespace: "probe-ns", SkipTests: true},
			want:    []string{"name: p-pre-install", "helm.sh/hook: pre-install"},
			notWant: []string{"name: p-test"},
		},
		{
			name:  "schema validation can be skipped",
			chart: probe,
			opts:  TemplateOptions{ReleaseName: "p", Namespace: "n", Values: map[string]any{"size": "big"}, SkipSchemaValidation: true},
			want:  []string{`size: "big"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			out, err := Template(testContext(t), tt.chart, tt.opts)
			if err != nil {
				t.Fatalf("Template: %v", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output does not contain %q:\n%s", want, out)
				}
			}
			for _, notWant := range tt.notWant {
				if strings.Contains(out, notWant) {
					t.Errorf("output contains %q:\n%s", notWant, out)
				}
			}
			objs, err := Objects(out)
			if err != nil {
				t.Fatalf("Objects: %v", err)
			}
			for _, o := range objs {
				if o.Source == "" || o.Obj.GetKind() == "" {
					t.Errorf("object %s %s from %q", o.Obj.GetKind(), o.Obj.GetName(), o.Source)
				}
			}
			if tt.check != nil {
				tt.check(t, objs)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	probe := probeChart(t)
	tests := []struct {
		name    string
		opts    TemplateOptions
		wantMsg string
	}{
		{name: "template fails", opts: TemplateOptions{ReleaseName: "p", Namespace: "n", Values: map[string]any{"fail": true}}, wantMsg: "probe asked to fail"},
		{name: "values against the schema", opts: TemplateOptions{ReleaseName: "p", Namespace: "n", Values: map[string]any{"size": "big"}}, wantMsg: "size"},
		{name: "invalid kube version", opts: TemplateOptions{ReleaseName: "p", Namespace: "n", KubeVersion: "not-a-version"}, wantMsg: "not-a-version"},
		{name: "invalid release name", opts: TemplateOptions{ReleaseName: "Not_Valid!", Namespace: "n"}, wantMsg: "Not_Valid!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Template(testContext(t), probe, tt.opts)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Template = %v (%d bytes of output), want ErrInvalid", err, len(out))
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestObjects(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     []string // "<kind>/<name>@<source>"
		wantErr  string
	}{
		{name: "empty", manifest: "", want: nil},
		{name: "only separators and comments", manifest: "---\n# Source: x/templates/empty.yaml\n---\n", want: nil},
		{
			name:     "documents with sources",
			manifest: "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n",
			want:     []string{"ConfigMap/a@c/templates/a.yaml", "Secret/b@c/templates/b.yaml"},
		},
		{
			name:     "document without a source",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
			want:     []string{"ConfigMap/a@"},
		},
		{
			name:     "separator with trailing spaces",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---  \napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
			want:     []string{"ConfigMap/a@", "ConfigMap/b@"},
		},
		{
			name:     "a string with --- inside is not a separator",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: |\n    ---- not a separator\n",
			want:     []string{"ConfigMap/a@"},
		},
		{
			name:     "invalid YAML names the template",
			manifest: "---\n# Source: c/templates/bad.yaml\napiVersion: v1\nkind: [ConfigMap\n",
			wantErr:  "c/templates/bad.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Objects(tt.manifest)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Objects = %v, want ErrInvalid naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Objects: %v", err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, describe(o.Obj)+"@"+o.Source)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Objects = %v, want %v", got, tt.want)
			}
		})
	}
}

func describe(u *unstructured.Unstructured) string { return u.GetKind() + "/" + u.GetName() }

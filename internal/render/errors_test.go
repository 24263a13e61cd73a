package render

import (
	"fmt"
	"strings"
	"testing"
)

// Errors name the file and the line, whichever way the file is read.
func TestInvalidYAMLNamesFileAndLine(t *testing.T) {
	const want = "deploy/webapp/deployment.yaml: yaml: line 7: mapping values are not allowed in this context"
	multi := fmt.Sprintf(configMap, "first") + "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  labels: a: b\n"
	tests := []struct {
		name string
		root string
		opts Options
		want string
	}{
		{"directory", "testdata/invalid", Options{Path: "deploy/webapp", Mode: ModeDirectory}, want},
		{"generated kustomization", "testdata/invalid", Options{Path: "deploy/webapp"}, want},
		{"user kustomization", writeTree(t, map[string]string{
			"deploy/webapp/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources: [deployment.yaml]\n"),
			"deploy/webapp/deployment.yaml":    mustRead(t, "testdata/invalid/deploy/webapp/deployment.yaml"),
		}), Options{Path: "deploy/webapp", Mode: ModeKustomize}, want},
		{"second document of a file", writeTree(t, map[string]string{"app/cms.yaml": multi}), Options{Path: "app", Mode: ModeDirectory},
			"app/cms.yaml: yaml: line 12: mapping values are not allowed in this context"},
		{"the kustomization itself", writeTree(t, map[string]string{"app/kustomization.yaml": "namePrefix: a-\nresources: a: b\n"}), Options{Path: "app"},
			"app/kustomization.yaml: yaml: line 2: mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderOnce(t, tt.root, tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		root string
		opts Options
		want string
	}{
		{"missing path", "testdata/nested", Options{Path: "nope"}, `path "nope" not found in the source`},
		{"missing path, directory", "testdata/nested", Options{Path: "nope", Mode: ModeDirectory}, `path "nope" not found in the source`},
		{"path is a file", "testdata/plain", Options{Path: "deployment.yaml"}, "not a directory"},
		{"kustomize mode needs a kustomization", "testdata/plain", Options{Mode: ModeKustomize}, ".: no kustomization.yaml"},
		{"directory mode takes no overlays", "testdata/plain", Options{Mode: ModeDirectory, NamePrefix: "x-"}, "mode Directory takes no kustomize"},
		{"globs are for directory mode", "testdata/plain", Options{Include: "*.yaml"}, "apply to mode Directory only"},
		{"bad glob", "testdata/plain", Options{Mode: ModeDirectory, Include: "[a-"}, `glob "[a-"`},
		{"bad variable name", "testdata/substitute", Options{Substitute: map[string]string{"a-b": "x"}}, `"a-b" var name is invalid`},
		{"remote component", "testdata/nested", Options{Components: []string{"https://example.com/c"}}, "must be local and relative"},
		{"patch without content", "testdata/nested", Options{Patches: []Patch{{}}}, "patches[0]: set exactly one of patch and path"},
		{"negative limit", "testdata/nested", Options{MaxObjects: -1}, "may not be negative"},
		{"image without name", "testdata/nested", Options{Images: []Image{{NewTag: "1"}}}, "images[0]: name is required"},
		{"strict substitution", "testdata/substitute", Options{Substitute: map[string]string{"cluster_env": "x", "port": "1"}, StrictSubstitute: true},
			`configmap.yaml: ConfigMap/app-${cluster_env}: variable substitution: variable not set (strict mode): "undefined"`},
		{"bad substitution", writeTree(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: ${oops\n"}),
			Options{Substitute: map[string]string{"a": "b"}}, "cm.yaml: ConfigMap/x: variable substitution: missing closing brace"},
		{"object without name", writeTree(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"}), Options{Mode: ModeDirectory}, "cm.yaml: ConfigMap has no metadata.name"},
		{"jsonnet output not an object", writeTree(t, map[string]string{"app.jsonnet": "{}"}), Options{Mode: ModeDirectory}, "app.jsonnet: the output is not a Kubernetes object"},
		{"list item not an object", writeTree(t, map[string]string{"l.yaml": "apiVersion: v1\nkind: List\nitems:\n  - name: x\n"}), Options{Mode: ModeDirectory}, "l.yaml: document at line 1: List items[0] is not a Kubernetes object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderOnce(t, tt.root, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// Origin annotations go away, unless the kustomization asks for them.
func TestOriginAnnotationKeptWhenAsked(t *testing.T) {
	root := writeTree(t, map[string]string{
		"kustomization.yaml": fmt.Sprintf(kustomizationOf, "buildMetadata: [originAnnotations]\nresources: [cm.yaml]\n"),
		"cm.yaml":            fmt.Sprintf(configMap, "a"),
	})
	objs, err := renderOnce(t, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := objs[0].Obj.GetAnnotations()[originAnnotation]; got != "path: cm.yaml\n" || objs[0].Source != "cm.yaml" {
		t.Errorf("origin = %q, Source = %q", got, objs[0].Source)
	}
}

func TestParseImage(t *testing.T) {
	tests := []struct {
		in   string
		want Image
	}{
		{"gcr.io/heptio-images/ks-guestbook-demo:0.2", Image{Name: "gcr.io/heptio-images/ks-guestbook-demo", NewTag: "0.2"}},
		{"nginx=registry.example.com/nginx:1.25", Image{Name: "nginx", NewName: "registry.example.com/nginx", NewTag: "1.25"}},
		{"mysql=mariadb", Image{Name: "mysql", NewName: "mariadb"}},
		{"alpine@sha256:24a0c4b4", Image{Name: "alpine", Digest: "sha256:24a0c4b4"}},
		{"app=registry:5000/app@sha256:abc", Image{Name: "app", NewName: "registry:5000/app", Digest: "sha256:abc"}},
		{"localhost:5000/app:1.0", Image{Name: "localhost:5000/app", NewTag: "1.0"}},
		{"app=*:2.0", Image{Name: "app", NewName: "*", NewTag: "2.0"}},
	}
	for _, tt := range tests {
		got, err := ParseImage(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseImage(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "nginx", "localhost:5000/app", "=x:1"} {
		if img, err := ParseImage(bad); err == nil {
			t.Errorf("ParseImage(%q) = %+v, want an error", bad, img)
		}
	}
}

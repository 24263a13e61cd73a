package render

import (
	"slices"
	"strings"
	"testing"
)

func TestRenderDirectory(t *testing.T) {
	top := []string{
		"config.json ServiceAccount /guestbook",
		"deployment.yaml Deployment /guestbook-ui",
		"list.yaml ConfigMap /from-list-a",
		"list.yaml ConfigMap /from-list-b",
		"services.yaml Service /guestbook-ui",
		"services.yaml Service /guestbook-ui-headless",
	}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"top folder only", Options{Mode: ModeDirectory}, top},
		{"recurse", Options{Mode: ModeDirectory, Recurse: true}, append(slices.Clone(top),
			"sub/deeper/deeper.yml ConfigMap /deeper",
			"sub/nested.yaml ConfigMap /nested",
		)},
		{"subfolder", Options{Mode: ModeDirectory, Path: "./sub/", Recurse: true}, []string{
			"sub/deeper/deeper.yml ConfigMap /deeper",
			"sub/nested.yaml ConfigMap /nested",
		}},
		{"include braces", Options{Mode: ModeDirectory, Include: "{deployment.yaml,services.yaml}"}, []string{
			"deployment.yaml Deployment /guestbook-ui",
			"services.yaml Service /guestbook-ui",
			"services.yaml Service /guestbook-ui-headless",
		}},
		{"include star crosses folders", Options{Mode: ModeDirectory, Recurse: true, Include: "*.yml"}, []string{
			"sub/deeper/deeper.yml ConfigMap /deeper",
		}},
		{"exclude", Options{Mode: ModeDirectory, Recurse: true, Exclude: "{*.json,sub/deeper/*,list.yaml}"}, []string{
			"deployment.yaml Deployment /guestbook-ui",
			"services.yaml Service /guestbook-ui",
			"services.yaml Service /guestbook-ui-headless",
			"sub/nested.yaml ConfigMap /nested",
		}},
		{"globs relative to path", Options{Mode: ModeDirectory, Path: "sub", Recurse: true, Exclude: "deeper/*"}, []string{
			"sub/nested.yaml ConfigMap /nested",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := renderOnce(t, "testdata/plain", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRenderKustomize(t *testing.T) {
	tests := []struct {
		name  string
		root  string
		opts  Options
		want  []string
		check func(t *testing.T, objs []Object)
	}{{
		name: "generated kustomization lists nested files and kustomized subfolders",
		root: "testdata/nested",
		opts: Options{Path: "./deploy/webapp/"},
		want: []string{
			"deploy/webapp/deployment.yaml Deployment /webapp",
			"deploy/webapp/extra/configmap.yaml ConfigMap /webapp-extra",
			"deploy/webapp/redis/redis.yaml Deployment /redis",
			"deploy/webapp/service.yml Service /webapp",
		},
	}, {
		name: "generated kustomization with every overlay",
		root: "testdata/nested",
		opts: Options{
			Path:              "deploy/webapp",
			TargetNamespace:   "prod",
			NamePrefix:        "p-",
			NameSuffix:        "-v1",
			CommonLabels:      map[string]string{"team": "a"},
			CommonAnnotations: map[string]string{"owner": "team-a@example.com"},
			Images:            []Image{{Name: "ghcr.io/stefanprodan/podinfo", NewTag: "6.5.0"}, {Name: "redis", NewName: "mirror.example.com/redis", Digest: "sha256:0123"}},
			Patches: []Patch{
				{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: webapp\nspec:\n  template:\n    spec:\n      containers:\n        - name: webapp\n          env:\n            - name: LEVEL\n              value: debug\n"},
				{Patch: `[{"op": "replace", "path": "/spec/ports/0/port", "value": 8080}]`, Target: &Selector{Kind: "Service", Name: "webapp"}},
				{Patch: "- op: add\n  path: /data/patched\n  value: \"yes\"\n", Target: &Selector{Kind: "ConfigMap", LabelSelector: "!missing"}},
			},
			Replicas:       []Replica{{Name: "webapp", Count: 3}},
			Components:     []string{"../../components/monitoring", "../../components/absent"},
			CommonMetadata: &Metadata{Labels: map[string]string{"toolkit.fluxcd.io/tenant": "a"}, Annotations: map[string]string{"note": "x"}},

			IgnoreMissingComponents: true,
		},
		want: []string{
			"deploy/webapp/deployment.yaml Deployment prod/p-webapp-v1",
			"deploy/webapp/extra/configmap.yaml ConfigMap prod/p-webapp-extra-v1",
			"deploy/webapp/redis/redis.yaml Deployment prod/p-redis-v1",
			"deploy/webapp/service.yml Service prod/p-webapp-v1",
			"components/monitoring/servicemonitor.yaml ServiceMonitor prod/p-webapp-v1",
		},
		check: func(t *testing.T, objs []Object) {
			d := find(t, objs, "Deployment", "p-webapp-v1")
			wantField(t, d, "ghcr.io/stefanprodan/podinfo:6.5.0", "spec", "template", "spec", "containers", "0", "image")
			wantField(t, d, "debug", "spec", "template", "spec", "containers", "0", "env", "0", "value")
			wantField(t, d, int64(3), "spec", "replicas")
			wantField(t, d, "a", "spec", "selector", "matchLabels", "team")
			wantField(t, d, "a", "metadata", "labels", "toolkit.fluxcd.io/tenant")
			wantField(t, d, "team-a@example.com", "metadata", "annotations", "owner")
			wantField(t, d, "x", "metadata", "annotations", "note")
			wantField(t, d, nil, "spec", "selector", "matchLabels", "toolkit.fluxcd.io/tenant") // commonMetadata: metadata only
			r := find(t, objs, "Deployment", "p-redis-v1")
			wantField(t, r, "mirror.example.com/redis@sha256:0123", "spec", "template", "spec", "containers", "0", "image")
			wantField(t, find(t, objs, "Service", "p-webapp-v1"), int64(8080), "spec", "ports", "0", "port")
			wantField(t, find(t, objs, "ConfigMap", "p-webapp-extra-v1"), "yes", "data", "patched")
		},
	}, {
		name: "user kustomization keeps its patches and images, options add theirs",
		root: "testdata/userkustomize",
		opts: Options{
			Path:    "app",
			Images:  []Image{{Name: "ghcr.io/stefanprodan/podinfo", NewTag: "*", NewName: "mirror.example.com/podinfo"}},
			Patches: []Patch{{Patch: `[{"op": "add", "path": "/metadata/annotations/patched-by", "value": "options"}]`, Target: &Selector{Kind: "Deployment"}}},
		},
		want: []string{
			"app/deployment.yaml Deployment apps/podinfo",
			"app/service.yaml Service apps/podinfo",
		},
		check: func(t *testing.T, objs []Object) {
			d := find(t, objs, "Deployment", "podinfo")
			wantField(t, d, int64(2), "spec", "replicas")
			wantField(t, d, "mirror.example.com/podinfo:6.1.0", "spec", "template", "spec", "containers", "0", "image")
			wantField(t, d, "options", "metadata", "annotations", "patched-by")
			wantField(t, find(t, objs, "Service", "podinfo"), int64(8080), "spec", "ports", "0", "port")
		},
	}, {
		name: "Argo CD seed: namePrefix, commonLabels and image override on an overlay",
		root: "testdata/argo-advanced",
		opts: Options{
			Path:         "k8s/overlays/production",
			Mode:         ModeKustomize,
			NamePrefix:   "production-",
			CommonLabels: map[string]string{"environment": "production"},
			Images:       []Image{mustParseImage(t, "gcr.io/heptio-images/ks-guestbook-demo:0.2")},
		},
		want: []string{
			"k8s/base/guestbook-ui-deployment.yaml Deployment /production-guestbook-ui",
			"k8s/base/guestbook-ui-svc.yaml Service /production-guestbook-ui",
		},
		check: func(t *testing.T, objs []Object) {
			d := find(t, objs, "Deployment", "production-guestbook-ui")
			wantField(t, d, "gcr.io/heptio-images/ks-guestbook-demo:0.2", "spec", "template", "spec", "containers", "0", "image")
			wantField(t, d, "production", "metadata", "labels", "environment")
			wantField(t, d, "production", "spec", "selector", "matchLabels", "environment")
			wantField(t, d, "production", "spec", "template", "metadata", "labels", "environment")
			wantField(t, find(t, objs, "Service", "production-guestbook-ui"), "production", "spec", "selector", "environment")
		},
	}, {
		name: "labels without selector",
		root: "testdata/argo-advanced",
		opts: Options{Path: "k8s/base", Mode: ModeKustomize, CommonLabels: map[string]string{"environment": "production"}, LabelsWithoutSelector: true},
		want: []string{
			"k8s/base/guestbook-ui-deployment.yaml Deployment /guestbook-ui",
			"k8s/base/guestbook-ui-svc.yaml Service /guestbook-ui",
		},
		check: func(t *testing.T, objs []Object) {
			d := find(t, objs, "Deployment", "guestbook-ui")
			wantField(t, d, "production", "metadata", "labels", "environment")
			wantField(t, d, nil, "spec", "selector", "matchLabels", "environment")
		},
	}, {
		name: "postBuild substitution with defaults and the disabled annotation",
		root: "testdata/substitute",
		opts: Options{Substitute: map[string]string{"cluster_env": "prod", "port": "8080", "region": "us-east-1\n"}},
		want: []string{
			"configmap.yaml ConfigMap apps/app-prod",
			"deployment.yaml Deployment apps/app",
			"disabled.yaml ConfigMap apps/script",
		},
		check: func(t *testing.T, objs []Object) {
			cm := find(t, objs, "ConfigMap", "app-prod")
			wantField(t, cm, "prod", "data", "env")
			wantField(t, cm, "us-east-1", "data", "region") // newlines dropped, as in Flux
			wantField(t, cm, int64(8080), "data", "port")   // kustomize drops the quotes, as in Flux
			wantField(t, cm, "${not_a_var}", "data", "price")
			wantField(t, cm, nil, "data", "missing")
			wantField(t, find(t, objs, "Deployment", "app"), int64(1), "spec", "replicas")
			wantField(t, find(t, objs, "ConfigMap", "script"), "echo \"${HOME} and ${cluster_env} stay as written\"\n", "data", "run.sh")
		},
	}, {
		name: "no variables: nothing is substituted (Flux's WithVariables strategy)",
		root: "testdata/substitute",
		opts: Options{Path: ".", Substitute: map[string]string{}},
		want: []string{
			"configmap.yaml ConfigMap ${namespace:=apps}/app-${cluster_env}",
			"deployment.yaml Deployment apps/app",
			"disabled.yaml ConfigMap apps/script",
		},
	}, {
		name: "SubstituteAlways applies defaults without variables",
		root: "testdata/substitute",
		opts: Options{SubstituteAlways: true},
		want: []string{
			"configmap.yaml ConfigMap apps/app-",
			"deployment.yaml Deployment apps/app",
			"disabled.yaml ConfigMap apps/script",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := renderOnce(t, tt.root, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, o := range objs {
				if _, ok := o.Obj.GetAnnotations()[originAnnotation]; ok {
					t.Errorf("%s %s keeps the origin annotation", o.Obj.GetKind(), o.Obj.GetName())
				}
			}
			if tt.check != nil {
				tt.check(t, objs)
			}
		})
	}
}

func wantField(t *testing.T, o Object, want any, fields ...string) {
	t.Helper()
	var cur any = o.Obj.Object
	for _, f := range fields {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[f]
		case []any:
			cur = nil
			for i, v := range c {
				if f == string(rune('0'+i)) {
					cur = v
				}
			}
		default:
			cur = nil
		}
	}
	if cur != want {
		t.Errorf("%s %s: %s = %#v, want %#v", o.Obj.GetKind(), o.Obj.GetName(), strings.Join(fields, "."), cur, want)
	}
}

func mustParseImage(t *testing.T, s string) Image {
	t.Helper()
	img, err := ParseImage(s)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

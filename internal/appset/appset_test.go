package appset

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// sources is a checkout on disk and a fixed cluster list: the pure logic
// under test only reads files and a list.
type sources struct {
	dir      string
	clusters []Cluster
}

func (s sources) Checkout(context.Context, string, string) (string, func(), error) {
	return s.dir, func() {}, nil
}

func (s sources) Clusters(context.Context) ([]Cluster, error) { return s.clusters, nil }

func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func set(t *testing.T, doc string) *argov1.ApplicationSet {
	t.Helper()
	var s argov1.ApplicationSet
	if err := yaml.UnmarshalStrict([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	s.Namespace = "argocd"
	return &s
}

// summary is "name dest-namespace path" per generated Application.
func summary(apps []*argov1.Application) []string {
	var out []string
	for _, a := range apps {
		path := ""
		if a.Spec.Source != nil {
			path = a.Spec.Source.Path
		}
		out = append(out, a.Name+" "+a.Spec.Destination.Namespace+" "+path)
	}
	return out
}

var guestbookRepo = map[string]string{
	"apps/guestbook/cm.yaml":      "x",
	"apps/podinfo/cm.yaml":        "x",
	"apps/Legacy_App/cm.yaml":     "x",
	"apps/excluded/cm.yaml":       "x",
	"apps/guestbook/sub/x.yaml":   "x",
	".hidden/cm.yaml":             "x",
	"config/dev/config.json":      `{"cluster": {"name": "dev", "address": "https://dev"}, "replicas": 2}`,
	"config/prod/config.yaml":     "cluster:\n  name: prod\n  address: https://prod\nreplicas: 5\n",
	"config/list/many.yaml":       "- {cluster: {name: a}}\n- {cluster: {name: b}}\n",
	"config/dev/ignored.txt":      "not matched",
}

func TestApplications(t *testing.T) {
	root := repo(t, guestbookRepo)
	clusters := []Cluster{
		{Name: "in-cluster", Server: "https://kubernetes.default.svc"},
		{Name: "Staging_1", Server: "https://staging", Labels: map[string]string{"env": "staging"}, Annotations: map[string]string{"team": "a"}},
		{Name: "prod", Server: "https://prod", Labels: map[string]string{"env": "prod"}},
	}
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "git directories, default templates, exclude",
			doc: `spec:
  generators:
  - git:
      repoURL: https://git.example.com/apps.git
      directories: [{path: "apps/*"}, {path: apps/excluded, exclude: true}]
  template:
    metadata: {name: "{{path.basenameNormalized}}"}
    spec:
      project: default
      source: {repoURL: https://git.example.com/apps.git, path: "{{path}}"}
      destination: {server: https://kubernetes.default.svc, namespace: "{{path[1]}}-{{unknown}}"}
`,
			// Byte order, as Git lists them: upper case first.
			want: []string{"legacy-app Legacy_App-{{unknown}} apps/Legacy_App", "guestbook guestbook-{{unknown}} apps/guestbook", "podinfo podinfo-{{unknown}} apps/podinfo"},
		},
		{
			name: "git directories, goTemplate",
			doc: `spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - git:
      repoURL: https://git.example.com/apps.git
      directories: [{path: "apps/*"}, {path: "apps/[eL]*", exclude: true}]
  template:
    metadata: {name: "{{.path.basename | upper | lower}}"}
    spec:
      project: default
      source: {repoURL: https://git.example.com/apps.git, path: "{{.path.path}}"}
      destination: {server: https://kubernetes.default.svc, namespace: "{{index .path.segments 1}}"}
`,
			want: []string{"guestbook guestbook apps/guestbook", "podinfo podinfo apps/podinfo"},
		},
		{
			name: "git files, flattened and nested",
			doc: `spec:
  generators:
  - git:
      repoURL: https://git.example.com/apps.git
      files: [{path: "config/**/config.*"}]
  template:
    metadata: {name: "{{cluster.name}}-{{path.basename}}"}
    spec:
      project: default
      source: {repoURL: https://git.example.com/apps.git, path: "{{path}}"}
      destination: {server: "{{cluster.address}}", namespace: "r{{replicas}}-{{path.filename}}"}
`,
			want: []string{"dev-dev r2-config.json config/dev", "prod-prod r5-config.yaml config/prod"},
		},
		{
			name: "git files holding a list",
			doc: `spec:
  goTemplate: true
  generators:
  - git: {repoURL: https://git.example.com/apps.git, files: [{path: config/list/many.yaml}]}
  template:
    metadata: {name: "{{.cluster.name}}"}
    spec: {project: default, destination: {namespace: "{{.path.filename}}"}}
`,
			want: []string{"a many.yaml ", "b many.yaml "},
		},
		{
			name: "clusters: empty selector takes the local cluster too; values",
			doc: `spec:
  generators:
  - clusters:
      values: {suffix: "-{{name}}"}
  template:
    metadata: {name: "app-{{nameNormalized}}"}
    spec: {project: default, destination: {server: "{{server}}", namespace: "ns{{values.suffix}}{{metadata.labels.env}}"}}
`,
			want: []string{"app-in-cluster ns-in-cluster{{metadata.labels.env}} ", "app-staging-1 ns-Staging_1staging ", "app-prod ns-prodprod "},
		},
		{
			name: "clusters by label, goTemplate",
			doc: `spec:
  goTemplate: true
  generators:
  - clusters: {selector: {matchLabels: {env: staging}}}
  template:
    metadata: {name: "{{.nameNormalized}}-{{.metadata.annotations.team}}"}
    spec: {project: default, destination: {server: "{{.server}}"}}
`,
			want: []string{"staging-1-a  "},
		},
		{
			name: "list with a generator template and selector",
			doc: `spec:
  generators:
  - list:
      elements: [{env: dev, num: 1}, {env: prod, num: 3}]
      template: {spec: {destination: {namespace: from-generator}}}
    selector: {matchLabels: {env: prod}}
  template:
    metadata: {name: "{{env}}-{{num}}"}
    spec: {project: default, destination: {server: https://kubernetes.default.svc, namespace: from-set}}
`,
			want: []string{"prod-3 from-generator "},
		},
		{
			name: "matrix of clusters x directories",
			doc: `spec:
  goTemplate: true
  generators:
  - matrix:
      generators:
      - clusters: {selector: {matchExpressions: [{key: env, operator: Exists}]}}
      - git:
          repoURL: https://git.example.com/apps.git
          directories: [{path: "apps/{{.name | lower | replace \"_\" \"\" | replace \"staging1\" \"guestbook\" | replace \"prod\" \"podinfo\"}}"}]
  template:
    metadata: {name: "{{.nameNormalized}}-{{.path.basename}}"}
    spec: {project: default, destination: {server: "{{.server}}", namespace: "{{.path.basename}}"}}
`,
			want: []string{"staging-1-guestbook guestbook ", "prod-podinfo podinfo "},
		},
		{
			name: "merge by key",
			doc: `spec:
  generators:
  - merge:
      mergeKeys: [name]
      generators:
      - clusters: {selector: {matchLabels: {env: prod}}}
      - list: {elements: [{name: prod, ns: override}, {name: other, ns: never}]}
  template:
    metadata: {name: "{{name}}"}
    spec: {project: default, destination: {namespace: "{{ns}}"}}
`,
			want: []string{"prod override "},
		},
		{
			name: "templatePatch",
			doc: `spec:
  goTemplate: true
  generators:
  - list: {elements: [{name: a, auto: true}, {name: b, auto: false}]}
  template:
    metadata: {name: "{{.name}}"}
    spec: {project: default, destination: {namespace: "{{.name}}"}}
  templatePatch: |
    {{- if .auto }}
    spec:
      syncPolicy:
        automated: {prune: true}
    {{- end }}
`,
			want: []string{"a a ", "b b "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Generator{Sources: sources{dir: root, clusters: clusters}}
			s := set(t, tt.doc)
			apps, err := g.Applications(context.Background(), s)
			if err != nil {
				t.Fatalf("Applications: %v", err)
			}
			if got := summary(apps); !slices.Equal(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if tt.name == "templatePatch" {
				if apps[0].Spec.SyncPolicy == nil || apps[0].Spec.SyncPolicy.Automated == nil || apps[1].Spec.SyncPolicy != nil {
					b, _ := json.Marshal(apps)
					t.Fatalf("the patch applied wrongly: %s", b)
				}
			}
		})
	}
}

func TestApplicationsErrors(t *testing.T) {
	root := repo(t, guestbookRepo)
	tests := []struct{ name, doc, want string }{
		{"duplicate names", `spec:
  generators: [{list: {elements: [{a: x}, {a: x}]}}]
  template: {metadata: {name: "{{a}}"}, spec: {project: default}}
`, "contains applications with duplicate name: x"},
		{"missing key", `spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators: [{list: {elements: [{a: x}]}}]
  template: {metadata: {name: "{{.b}}"}, spec: {project: default}}
`, `map has no entry for key "b"`},
		{"unsupported generator", `spec:
  generators: [{scmProvider: {github: {organization: x}}}]
  template: {metadata: {name: x}, spec: {project: default}}
`, "spec.generators[0]: the scmProvider generator is not supported by Tether"},
		{"matrix of three", `spec:
  generators: [{matrix: {generators: [{list: {elements: [{a: x}]}}, {list: {elements: [{b: y}]}}, {list: {elements: [{c: z}]}}]}}]
  template: {metadata: {name: x}, spec: {project: default}}
`, "matrix: needs exactly 2 generators, has 3"},
		{"templatePatch without goTemplate", `spec:
  generators: [{list: {elements: [{a: x}]}}]
  template: {metadata: {name: x}, spec: {project: default}}
  templatePatch: "spec: {}"
`, "spec.templatePatch needs spec.goTemplate: true"},
		{"other namespace", `spec:
  generators: [{list: {elements: [{a: x}]}}]
  template: {metadata: {name: x, namespace: elsewhere}, spec: {project: default}}
`, "namespace elsewhere is not the ApplicationSet's (argocd)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Generator{Sources: sources{dir: root}}
			_, err := g.Applications(context.Background(), set(t, tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

var _ = apiextensionsv1.JSON{}

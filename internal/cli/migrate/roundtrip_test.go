package migrate

import (
	"bytes"
	"encoding/json"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// TestRoundTrip turns Applications into Flux objects and back, and wants
// every field that maps to come back as it was, without warnings.
func TestRoundTrip(t *testing.T) {
	tests := []struct{ name, spec string }{{
		name: "Kustomize directory",
		spec: `  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://example.com/repo.git
    targetRevision: release-1
    path: overlays/prod
    kustomize:
      namePrefix: pre-
      nameSuffix: -suf
      images: ["nginx:1.25", "old=new@sha256:abc"]
      commonLabels: {team: web}
      labelWithoutSelector: true
      commonAnnotations: {owner: me}
      components: [../c]
      patches: [{patch: "- op: remove\n  path: /x", target: {kind: Deployment, name: web}}]
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata: {labels: {team: web}}
`,
	}, {
		name: "chart from a Helm repository",
		spec: `  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://charts.example.com
    chart: web
    targetRevision: 1.2.3
    helm:
      releaseName: web-release
      valuesObject: {replicas: 2, image: {tag: "1"}}
      skipCrds: true
      skipSchemaValidation: true
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, ServerSideApply=true]
    retry: {limit: 3}
`,
	}, {
		name: "chart in Git",
		spec: `  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://example.com/repo.git
    targetRevision: v2.0.0
    path: charts/web
    helm: {valueFiles: [values-prod.yaml]}
  syncPolicy:
    automated: {prune: true}
`,
	}, {
		name: "OCI chart, remote cluster, commit",
		spec: `  project: default
  destination: {name: prod, namespace: web}
  source: {repoURL: oci://ghcr.io/org/charts, chart: web, targetRevision: 1.x}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := app(tt.spec)
			var want argov1.Application
			d, err := parseDocument([]byte(in), "want")
			if err != nil {
				t.Fatal(err)
			}
			if err := d.decode(&want); err != nil {
				t.Fatal(err)
			}
			flux := convert(t, in, Defaults())
			var buf bytes.Buffer
			if err := flux.WriteYAML(&buf); err != nil {
				t.Fatal(err)
			}
			back := convert(t, buf.String(), Defaults())
			remote := want.Spec.Destination.Name != ""
			if n := len(flux.Warnings) + len(back.Warnings); (n != 0 && !remote) || (remote && n != 2) {
				t.Errorf("warnings:\n%v\n%v", warningLines(flux), warningLines(back))
			}
			if len(back.Objects) != 1 {
				t.Fatalf("%d objects back, want one Application:\n%s", len(back.Objects), buf.String())
			}
			got, ok := back.Objects[0].Value.(*argov1.Application)
			if !ok {
				t.Fatalf("got %T", back.Objects[0].Value)
			}
			if g, w := specJSON(t, got.Spec), specJSON(t, want.Spec); g != w {
				t.Errorf("round trip changed the spec\n got %s\nwant %s\nvia\n%s", g, w, buf.String())
			}
			if got.Name != want.Name || got.Namespace != want.Namespace {
				t.Errorf("round trip names %s/%s", got.Namespace, got.Name)
			}
		})
	}
}

// specJSON normalises a spec for comparison: values objects are decoded
// so that key order does not matter.
func specJSON(t *testing.T, spec argov1.ApplicationSpec) string {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(m)
	return string(raw)
}

package flux

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// memAPI serves objects from memory: enough for the printers' logic.
type memAPI map[string]*unstructured.Unstructured

func (m memAPI) List(_ context.Context, k kind, ns string) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	for _, o := range m {
		if o.GetKind() == k.gvk.Kind && (ns == "" || o.GetNamespace() == ns) {
			out = append(out, *o)
		}
	}
	return out, nil
}

func (m memAPI) Get(_ context.Context, k kind, ns, name string) (*unstructured.Unstructured, error) {
	if o, ok := m[k.gvk.Kind+"/"+ns+"/"+name]; ok {
		return o, nil
	}
	return nil, errors.New("not found")
}

func (m memAPI) Act(context.Context, kind, string, string, string) (*unstructured.Unstructured, error) {
	return nil, errors.New("read only")
}

func (m memAPI) Events(context.Context, kind, string, string) ([]corev1.Event, error) {
	return nil, nil
}

func obj(kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: fields}
	o.SetKind(kind)
	o.SetNamespace(ns)
	o.SetName(name)
	return o
}

func inventory(ids ...string) map[string]any {
	entries := []any{}
	for _, id := range ids {
		entries = append(entries, map[string]any{"id": id, "v": "v1"})
	}
	return map[string]any{"status": map[string]any{"inventory": map[string]any{"entries": entries}}}
}

func TestTreeExpandsNestedObjects(t *testing.T) {
	api := memAPI{
		"Kustomization/flux-system/root": obj("Kustomization", "flux-system", "root",
			inventory("flux-system_apps_kustomize.toolkit.fluxcd.io_Kustomization", "_team_v1_Namespace")),
		"Kustomization/flux-system/apps": obj("Kustomization", "flux-system", "apps",
			inventory("web_api_helm.toolkit.fluxcd.io_HelmRelease", "web_cfg__ConfigMap")),
		"HelmRelease/web/api": obj("HelmRelease", "web", "api", inventory("web_api_apps_Deployment")),
	}
	var out bytes.Buffer
	if err := printTree(context.Background(), &out, api, kustomization, "flux-system", "root", "", 0); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"├── Kustomization/flux-system/apps",
		"│   ├── HelmRelease/web/api",
		"│   │   └── Deployment/web/api",
		"│   └── ConfigMap/web/cfg",
		"└── Namespace/team",
		""}, "\n")
	if out.String() != want {
		t.Errorf("tree:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestGetColumns(t *testing.T) {
	ready := map[string]any{
		"spec": map[string]any{"suspend": true},
		"status": map[string]any{"lastAppliedRevision": "main@sha1:abc",
			"conditions": []any{map[string]any{"type": "Ready", "status": "False", "message": "health check failed"}}},
	}
	api := memAPI{"Kustomization/a/web": obj("Kustomization", "a", "web", ready)}
	var out bytes.Buffer
	if err := printGet(context.Background(), &out, api, []kind{kustomization}, "", "", false, true, true, ""); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "a web main@sha1:abc true False health check failed" {
		t.Errorf("get:\n%s", out.String())
	}
	out.Reset()
	if err := printGet(context.Background(), &out, api, []kind{kustomization}, "", "", false, true, true, "ready=true"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "web") {
		t.Errorf("--status-selector ready=true kept a not-ready object:\n%s", out.String())
	}
}

func TestSourceOf(t *testing.T) {
	ks := obj("Kustomization", "apps", "web", map[string]any{"spec": map[string]any{"sourceRef": map[string]any{"kind": "GitRepository", "name": "repo"}}})
	k, ns, name, err := sourceOf(ks)
	if err != nil || k.gvk.Kind != "GitRepository" || ns != "apps" || name != "repo" {
		t.Errorf("Kustomization source: %v %s %s %v", k.gvk.Kind, ns, name, err)
	}
	hr := obj("HelmRelease", "apps", "web", map[string]any{"spec": map[string]any{"chart": map[string]any{"spec": map[string]any{
		"sourceRef": map[string]any{"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}}}})
	k, ns, name, err = sourceOf(hr)
	if err != nil || k.gvk.Kind != "HelmRepository" || ns != "flux-system" || name != "charts" {
		t.Errorf("HelmRelease source: %v %s %s %v", k.gvk.Kind, ns, name, err)
	}
	if _, _, _, err := sourceOf(obj("Kustomization", "a", "b", map[string]any{})); err == nil {
		t.Errorf("no sourceRef was accepted")
	}
}

func TestLogFilter(t *testing.T) {
	log := strings.Join([]string{
		`{"time":"T1","level":"DEBUG+3","msg":"compared","controllerKind":"Application","namespace":"argocd","name":"web"}`,
		`{"time":"T2","level":"INFO","msg":"applied","controllerKind":"Kustomization","namespace":"flux-system","name":"podinfo"}`,
		`{"time":"T3","level":"DEBUG+3","msg":"deployment configured","logger":"progress","app":"Kustomization/flux-system/podinfo","object":"Deployment/web/podinfo"}`,
		`{"time":"T4","level":"DEBUG+3","msg":"Event occurred","kind":"Kustomization","object":{"name":"podinfo","namespace":"flux-system"},"note":"Service/web/podinfo created\nDeployment/web/podinfo created"}`,
		`{"time":"T5","level":"ERROR","msg":"failed","controllerKind":"Kustomization","namespace":"other","name":"podinfo","error":"boom"}`,
		`not json`,
	}, "\n")
	var out bytes.Buffer
	f := logFilter{kind: "kustomization", namespace: "flux-system", name: "podinfo"}
	if err := f.filter(strings.NewReader(log), &out); err != nil {
		t.Fatal(err)
	}
	want := "T2 info Kustomization/flux-system/podinfo applied\n" +
		"T3 debug Kustomization/flux-system/podinfo Deployment/web/podinfo: deployment configured\n" +
		"T4 debug Kustomization/flux-system/podinfo Event occurred: Service/web/podinfo created; Deployment/web/podinfo created\n"
	if out.String() != want {
		t.Errorf("filtered:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := (logFilter{level: "error"}).filter(strings.NewReader(log), &out); err != nil || out.String() != "T5 error Kustomization/other/podinfo failed: boom\n" {
		t.Errorf("errors only: %q, %v", out.String(), err)
	}
}

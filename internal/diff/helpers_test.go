package diff

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// object parses a YAML manifest into an unstructured object, as the API
// server's JSON decodes (integers as int64).
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("parse test manifest: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatalf("decode test manifest: %v", err)
	}
	return u
}

// content parses YAML into unstructured content without requiring a kind.
func content(t *testing.T, manifest string) map[string]any {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("parse test content: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("decode test content: %v", err)
	}
	return m
}

// mustNew builds a Normalizer or fails the test.
func mustNew(t *testing.T, rules ...Rule) *Normalizer {
	t.Helper()
	n, err := New(rules)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

// assertSame fails when got and want differ by Equal's rules or by exact
// content (Equal hides metadata noise, so both are checked).
func assertSame(t *testing.T, what string, got, want *unstructured.Unstructured) {
	t.Helper()
	if !valueEqual(got.Object, want.Object) {
		gy, _ := yaml.Marshal(got.Object)
		wy, _ := yaml.Marshal(want.Object)
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, gy, wy)
	}
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    example.com/x: "1"
    a~b: "2"
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: app:1
      - name: x
        image: x:1
`

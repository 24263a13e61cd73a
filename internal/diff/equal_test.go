package diff

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestEqual(t *testing.T) {
	const base = `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns, labels: {a: "1"}, annotations: {b: "2"}}
data: {k: v}
`
	tests := []struct {
		name            string
		live, predicted string
		equal           bool
	}{
		{"identical", base, base, true},
		{"data differs", base, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns, labels: {a: "1"}, annotations: {b: "2"}}
data: {k: other}
`, false},
		{"server-set metadata and status ignored", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: ns
  labels: {a: "1"}
  annotations: {b: "2", kubectl.kubernetes.io/last-applied-configuration: "{}"}
  uid: 1234
  resourceVersion: "99"
  generation: 4
  creationTimestamp: "2026-01-01T00:00:00Z"
  selfLink: /api/v1/namespaces/ns/configmaps/c
  managedFields: [{manager: m}]
data: {k: v}
status: {phase: Whatever}
`, base, true},
		{"label differs", base, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns, labels: {a: "2"}, annotations: {b: "2"}}
data: {k: v}
`, false},
		{"extra annotation counts", base, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns, labels: {a: "1"}, annotations: {b: "2", c: "3"}}
data: {k: v}
`, false},
		{"absent, null and empty labels and annotations", `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, labels: {}, annotations: null}
`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`, true},
		{"only last-applied annotation against none", `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}}
`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`, true},
		{"finalizers count", `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, finalizers: [x]}
`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`, false},
		{"null equals empty list", `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: a, args: []}]}
`, `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: a, args: null}]}
`, true},
		{"list order counts", `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: a}, {name: b}]}
`, `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: b}, {name: a}]}
`, false},
		{"integer and float of the same value", `
apiVersion: v1
kind: Thing
metadata: {name: t}
spec: {n: 3, f: 1.5}
`, `
apiVersion: v1
kind: Thing
metadata: {name: t}
spec: {n: 3.0, f: 1.5}
`, true},
		{"number against string", `
apiVersion: v1
kind: Thing
metadata: {name: t}
spec: {n: 3}
`, `
apiVersion: v1
kind: Thing
metadata: {name: t}
spec: {n: "3"}
`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, predicted := object(t, tt.live), object(t, tt.predicted)
			before := live.DeepCopy()
			if got := Equal(live, predicted); got != tt.equal {
				t.Errorf("Equal = %v, want %v", got, tt.equal)
			}
			if got := Equal(predicted, live); got != tt.equal {
				t.Errorf("Equal (swapped) = %v, want %v", got, tt.equal)
			}
			assertSame(t, "live after Equal", live, before)
		})
	}
}

func TestEqualMissing(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap"}}
	if !Equal(nil, nil) {
		t.Error("two missing objects are not equal")
	}
	if Equal(obj, nil) || Equal(nil, obj) {
		t.Error("a missing object equals an existing one")
	}
}

func TestEqualLargeIntegers(t *testing.T) {
	a := &unstructured.Unstructured{Object: map[string]any{"n": int64(1<<62 + 1)}}
	b := &unstructured.Unstructured{Object: map[string]any{"n": int64(1 << 62)}}
	if Equal(a, b) {
		t.Error("integers that differ only past float64 precision compare equal")
	}
}

package diff

import (
	"strings"
	"testing"
)

// liveDeployment is a Deployment as the API server returns it: Tether
// applied it, then an autoscaler (manager "kube-controller-manager") set
// spec.replicas, a webhook-like controller ("injector") added a sidecar,
// a finalizer and a label, and "other" owns an annotation.
const liveDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, injected: "true"}
  annotations: {owner: other}
  finalizers: [example.com/a, example.com/injected, example.com/b]
  managedFields:
  - manager: tether
    operation: Apply
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:labels: {f:app: {}}}
      f:spec:
        f:replicas: {}
        f:template: {f:spec: {f:containers: {'k:{"name":"app"}': {.: {}, f:name: {}, f:image: {}}}}}
  - manager: kube-controller-manager
    operation: Update
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:spec: {f:replicas: {}}
  - manager: injector
    operation: Update
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:name: {}
        f:labels: {f:injected: {}}
        f:finalizers: {'v:"example.com/injected"': {}}
      f:spec:
        f:template:
          f:spec:
            f:containers:
              'k:{"name":"sidecar"}': {.: {}, f:name: {}, f:image: {}}
  - manager: other
    operation: Update
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:annotations: {f:owner: {}}}
spec:
  replicas: 5
  template:
    spec:
      containers:
      - {name: app, image: app:1}
      - {name: sidecar, image: proxy:1}
`

// predictedDeployment is the dry-run result of applying Git's manifest:
// two replicas, no sidecar, no injected label or finalizer.
const predictedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {owner: other}
  finalizers: [example.com/a, example.com/b]
spec:
  replicas: 2
  template:
    spec:
      containers:
      - {name: app, image: app:1}
`

func TestNormalizeManagedFieldsManagers(t *testing.T) {
	tests := []struct {
		name      string
		rule      Rule
		equal     bool
		wantLive  func(spec, meta map[string]any) string // "" when as wanted
		predicted string
	}{
		{
			name:  "autoscaler's replicas ignored, injector's changes still differ",
			rule:  Rule{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"kube-controller-manager"}},
			equal: false,
			wantLive: func(spec, _ map[string]any) string {
				if _, ok := spec["replicas"]; ok {
					return "spec.replicas kept"
				}
				return ""
			},
		},
		{
			name:  "both managers ignored",
			rule:  Rule{Group: "*", Kind: "*", ManagedFieldsManagers: []string{"kube-controller-manager", "injector"}},
			equal: true,
			wantLive: func(spec, meta map[string]any) string {
				switch {
				case meta["name"] != "web":
					return "metadata.name removed"
				case len(meta["finalizers"].([]any)) != 2:
					return "injected finalizer kept"
				case len(spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)) != 1:
					return "sidecar kept"
				}
				return ""
			},
		},
		{
			name:  "rule for another kind",
			rule:  Rule{Kind: "Service", ManagedFieldsManagers: []string{"kube-controller-manager", "injector"}},
			equal: false,
			wantLive: func(spec, _ map[string]any) string {
				if spec["replicas"] != int64(5) {
					return "spec.replicas removed by a rule for Services"
				}
				return ""
			},
		},
		{
			name:  "rule for another name",
			rule:  Rule{Group: "apps", Kind: "Deployment", Name: "api", ManagedFieldsManagers: []string{"kube-controller-manager"}},
			equal: false,
			wantLive: func(spec, _ map[string]any) string {
				if spec["replicas"] != int64(5) {
					return "spec.replicas removed by a rule for another name"
				}
				return ""
			},
		},
		{
			name:  "manager that owns nothing different",
			rule:  Rule{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"other", "nobody"}},
			equal: false,
			wantLive: func(_, meta map[string]any) string {
				if _, ok := meta["annotations"].(map[string]any)["owner"]; ok {
					return "annotation owned by other kept"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNew(t, tt.rule)
			live, predicted := object(t, liveDeployment), object(t, predictedDeployment)
			if err := n.Normalize(live, predicted); err != nil {
				t.Fatal(err)
			}
			if got := Equal(live, predicted); got != tt.equal {
				t.Errorf("Equal = %v, want %v", got, tt.equal)
			}
			spec := live.Object["spec"].(map[string]any)
			meta := live.Object["metadata"].(map[string]any)
			if msg := tt.wantLive(spec, meta); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestRemoveOwnedPaths(t *testing.T) {
	tests := []struct {
		name   string
		fields string // FieldsV1 of manager "m", as YAML
		in     string
		want   string
	}{
		{"map field", `{f:spec: {f:replicas: {}}}`,
			`{spec: {replicas: 1, paused: true}}`, `{spec: {paused: true}}`},
		{"keyed element's field", `{f:spec: {f:ports: {'k:{"port":80,"protocol":"TCP"}': {f:name: {}}}}}`,
			`{spec: {ports: [{port: 80, protocol: TCP, name: http}, {port: 80, protocol: UDP, name: dns}]}}`,
			`{spec: {ports: [{port: 80, protocol: TCP}, {port: 80, protocol: UDP, name: dns}]}}`},
		{"keyed element owned whole and emptied", `{f:c: {'k:{"name":"a"}': {.: {}, f:name: {}, f:x: {}}}}`,
			`{c: [{name: a, x: 1}, {name: b, x: 2}]}`, `{c: [{name: b, x: 2}]}`},
		{"keyed element owned whole, other fields stay", `{f:c: {'k:{"name":"a"}': {.: {}, f:x: {}}}}`,
			`{c: [{name: a, x: 1, w: 2}]}`, `{c: [{name: a, w: 2}]}`},
		{"key field removed with a sibling", `{f:c: {'k:{"name":"a"}': {f:name: {}, f:x: {}}}}`,
			`{c: [{name: a, x: 1, w: 2}]}`, `{c: [{w: 2}]}`},
		{"set elements, indexes shift", `{f:f: {'v:"a"': {}, 'v:"c"': {}}}`,
			`{f: [a, b, c, d]}`, `{f: [b, d]}`},
		{"atomic list index", `{f:args: {'i:1': {}}}`,
			`{args: [u, v, w]}`, `{args: [u, w]}`},
		{"missing paths", `{f:spec: {f:nope: {}, f:c: {'k:{"name":"zz"}': {f:x: {}}}}}`,
			`{spec: {c: [{name: a, x: 1}]}}`, `{spec: {c: [{name: a, x: 1}]}}`},
		{"protected identity", `{f:apiVersion: {}, f:kind: {}, f:metadata: {f:name: {}, f:namespace: {}, f:labels: {f:a: {}}}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: n, namespace: ns, labels: {a: "1"}}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: n, namespace: ns, labels: {}}}`},
		{"integer key", `{f:c: {'k:{"id":2}': {.: {}, f:id: {}}}}`,
			`{c: [{id: 1}, {id: 2}]}`, `{c: [{id: 1}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ownedFields(object(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: n
  managedFields:
  - {manager: m, operation: Update, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: `+tt.fields+`}
`), []string{"m"})
			if err != nil {
				t.Fatal(err)
			}
			got, want := content(t, tt.in), content(t, tt.want)
			removeOwned(got, set)
			if !valueEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestNormalizeRejectsBadManagedFields(t *testing.T) {
	n := mustNew(t, Rule{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa"}})
	live := object(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  managedFields:
  - {manager: hpa, operation: Update, apiVersion: apps/v1, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"k:{notjson": {}}}}
`)
	err := n.Normalize(live, object(t, predictedDeployment))
	if err == nil {
		t.Fatal("Normalize accepted unparsable managedFields")
	}
	for _, w := range []string{"apps/Deployment shop/web", `manager "hpa"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

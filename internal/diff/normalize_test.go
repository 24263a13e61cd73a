package diff

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeJSONPointers(t *testing.T) {
	tests := []struct {
		name     string
		pointers []string
		want     string // deployment with these edits applied
	}{
		{"field", []string{"/spec/replicas"},
			strings.Replace(deployment, "  replicas: 3\n", "", 1)},
		{"escaped slash in annotation key", []string{"/metadata/annotations/example.com~1x"},
			strings.Replace(deployment, "    example.com/x: \"1\"\n", "", 1)},
		{"escaped tilde", []string{"/metadata/annotations/a~0b"},
			strings.Replace(deployment, "    a~b: \"2\"\n", "", 1)},
		{"list element by index", []string{"/spec/template/spec/containers/0"},
			strings.Replace(deployment, "      - name: app\n        image: app:1\n", "", 1)},
		{"field of list element", []string{"/spec/template/spec/containers/1/image"},
			strings.Replace(deployment, "        image: x:1\n", "", 1)},
		{"missing path", []string{"/spec/paused", "/status/replicas", "/spec/replicas/x"}, deployment},
		{"index out of range", []string{"/spec/template/spec/containers/2"}, deployment},
		{"end-of-list marker", []string{"/spec/template/spec/containers/-"}, deployment},
		{"index with leading zero", []string{"/spec/template/spec/containers/01"}, deployment},
		{"name instead of index", []string{"/spec/template/spec/containers/app"}, deployment},
		{"several in order", []string{"/spec/template/spec/containers/0", "/spec/template/spec/containers/0"},
			strings.Replace(deployment, "containers:\n      - name: app\n        image: app:1\n      - name: x\n        image: x:1\n", "containers: []\n", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNew(t, Rule{Group: "apps", Kind: "Deployment", JSONPointers: tt.pointers})
			live, predicted := object(t, deployment), object(t, deployment)
			if err := n.Normalize(live, predicted); err != nil {
				t.Fatal(err)
			}
			assertSame(t, "live", live, object(t, tt.want))
			assertSame(t, "predicted", predicted, object(t, tt.want))
		})
	}
}

func TestNormalizeJQ(t *testing.T) {
	noContainers := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 3}
`
	tests := []struct {
		name  string
		exprs []string
		in    string
		want  string
	}{
		{"image of the selected container",
			[]string{`.spec.template.spec.containers[] | select(.name == "x") | .image`}, deployment,
			strings.Replace(deployment, "        image: x:1\n", "", 1)},
		{"whole selected list element",
			[]string{`.spec.template.spec.containers[] | select(.name == "app")`}, deployment,
			strings.Replace(deployment, "      - name: app\n        image: app:1\n", "", 1)},
		{"annotation with a slash in its key",
			[]string{`.metadata.annotations["example.com/x"]`}, deployment,
			strings.Replace(deployment, "    example.com/x: \"1\"\n", "", 1)},
		{"no match removes nothing",
			[]string{`.spec.template.spec.containers[] | select(.name == "nope") | .image`}, deployment, deployment},
		{"runtime error skips the expression for this object",
			[]string{`.spec.template.spec.containers[] | select(.name == "x") | .image`, `.spec.replicas`},
			noContainers, strings.Replace(noContainers, "spec: {replicas: 3}", "spec: {}", 1)},
		{"several paths at once",
			[]string{`.spec.template.spec.containers[].image`}, deployment,
			strings.NewReplacer("        image: x:1\n", "", "        image: app:1\n", "").Replace(deployment)},
		{"result that is not an object is skipped",
			[]string{`.`}, deployment, deployment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNew(t, Rule{Group: "apps", Kind: "Deployment", JQPathExpressions: tt.exprs})
			live := object(t, tt.in)
			if err := n.Normalize(live, nil); err != nil {
				t.Fatal(err)
			}
			assertSame(t, "live", live, object(t, tt.want))
		})
	}
}

func TestNormalizeJQKeepsInt64(t *testing.T) {
	n := mustNew(t, Rule{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{".metadata.annotations"}})
	live := object(t, deployment)
	if err := n.Normalize(live, nil); err != nil {
		t.Fatal(err)
	}
	if got, ok := live.Object["spec"].(map[string]any)["replicas"].(int64); !ok || got != 3 {
		t.Fatalf("spec.replicas = %#v, want int64 3", live.Object["spec"].(map[string]any)["replicas"])
	}
	_ = live.DeepCopy() // panics on value types unstructured content must not hold
}

// TestNormalizeJQTimeout_GHSA_9m6p_x4h2_6frq: a hostile jqPathExpression
// (an endless loop) is stopped by the timeout and the other rules still run.
func TestNormalizeJQTimeout_GHSA_9m6p_x4h2_6frq(t *testing.T) {
	n, err := New([]Rule{{Group: "apps", Kind: "Deployment",
		JQPathExpressions: []string{`.spec | until(false; .)`, `.spec.replicas`}}},
		WithJQTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	live := object(t, deployment)
	start := time.Now()
	if err := n.Normalize(live, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Normalize took %s despite a 50ms jq timeout", d)
	}
	if _, found := live.Object["spec"].(map[string]any)["replicas"]; found {
		t.Error("the expression after the one that timed out did not run")
	}
}

func TestRuleMatching(t *testing.T) {
	tests := []struct {
		name  string
		rule  Rule
		match bool
	}{
		{"group and kind", Rule{Group: "apps", Kind: "Deployment"}, true},
		{"other kind", Rule{Group: "apps", Kind: "StatefulSet"}, false},
		{"core group is empty", Rule{Group: "", Kind: "Deployment"}, false},
		{"kind wildcard", Rule{Group: "apps", Kind: "*"}, true},
		{"group and kind wildcards", Rule{Group: "*", Kind: "*"}, true},
		{"group glob", Rule{Group: "app*", Kind: "Deploy*"}, true},
		{"empty kind matches nothing", Rule{Group: "apps"}, false},
		{"name", Rule{Group: "apps", Kind: "Deployment", Name: "web"}, true},
		{"other name", Rule{Group: "apps", Kind: "Deployment", Name: "api"}, false},
		{"name is not a glob", Rule{Group: "apps", Kind: "Deployment", Name: "w*"}, false},
		{"namespace", Rule{Group: "apps", Kind: "Deployment", Namespace: "shop"}, true},
		{"other namespace", Rule{Group: "apps", Kind: "Deployment", Namespace: "default"}, false},
		{"name and namespace", Rule{Group: "apps", Kind: "Deployment", Name: "web", Namespace: "shop"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rule.JSONPointers = []string{"/spec/replicas"}
			n := mustNew(t, tt.rule)
			live := object(t, deployment)
			if err := n.Normalize(live, nil); err != nil {
				t.Fatal(err)
			}
			_, kept := live.Object["spec"].(map[string]any)["replicas"]
			if kept == tt.match {
				t.Errorf("rule %+v: matched = %v, want %v", tt.rule, !kept, tt.match)
			}
		})
	}
}

func TestRuleMatchingCoreGroup(t *testing.T) {
	svc := object(t, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.0.0.1}\n")
	n := mustNew(t, Rule{Kind: "Service", JSONPointers: []string{"/spec/clusterIP"}})
	if err := n.Normalize(svc, nil); err != nil {
		t.Fatal(err)
	}
	if _, kept := svc.Object["spec"].(map[string]any)["clusterIP"]; kept {
		t.Error("a rule with an empty group did not match a core-group Service")
	}
}

func TestNewRejectsInvalidRules(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want []string // substrings of the error
	}{
		{"pointer without leading slash", Rule{Kind: "Deployment", JSONPointers: []string{"spec/replicas"}},
			[]string{"ignoreDifferences[1]", `kind "Deployment"`, `jsonPointer "spec/replicas"`}},
		{"pointer with a bad escape", Rule{Kind: "ConfigMap", JSONPointers: []string{"/data/a~2b"}},
			[]string{"ignoreDifferences[1]", `kind "ConfigMap"`, `"/data/a~2b"`, "~0"}},
		{"pointer ending in a tilde", Rule{Kind: "ConfigMap", JSONPointers: []string{"/data/a~"}},
			[]string{`"/data/a~"`}},
		{"empty pointer", Rule{Kind: "ConfigMap", JSONPointers: []string{""}},
			[]string{`jsonPointer ""`, "whole object"}},
		{"jq syntax error", Rule{Kind: "Deployment", JQPathExpressions: []string{".spec.template[ | .x"}},
			[]string{"ignoreDifferences[1]", `kind "Deployment"`, `jqPathExpression ".spec.template[ | .x"`}},
		{"empty jq expression", Rule{Kind: "Deployment", JQPathExpressions: []string{""}},
			[]string{`jqPathExpression ""`}},
		{"jq that would close del( early", Rule{Kind: "Deployment",
			JQPathExpressions: []string{`.a) | .metadata.labels.x = "y" | del(.b`}},
			[]string{"jqPathExpression"}},
		{"jq unknown function", Rule{Kind: "Deployment", JQPathExpressions: []string{".spec | nosuchfn"}},
			[]string{"nosuchfn"}},
		{"bad kind glob", Rule{Kind: "Deploy[ment"}, []string{`kind pattern "Deploy[ment"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			valid := Rule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}
			_, err := New([]Rule{valid, tt.rule})
			if err == nil {
				t.Fatal("New accepted an invalid rule")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNormalizeMissingObjects(t *testing.T) {
	n := mustNew(t, Rule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"},
		ManagedFieldsManagers: []string{"kube-controller-manager"}})
	if err := n.Normalize(nil, nil); err != nil {
		t.Fatal(err)
	}
	predicted := object(t, deployment)
	if err := n.Normalize(nil, predicted); err != nil {
		t.Fatal(err)
	}
	if _, kept := predicted.Object["spec"].(map[string]any)["replicas"]; kept {
		t.Error("pointer not applied to predicted when live is missing")
	}
}

func TestNormalizeJQSurvivesNonJSONContent(t *testing.T) {
	n := mustNew(t, Rule{Kind: "ConfigMap", JQPathExpressions: []string{".data.a"}})
	obj := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	obj.Object["data"] = map[string]string{"a": "1"} // not unstructured content
	if err := n.Normalize(obj, nil); err != nil {
		t.Fatal(err)
	}
	if _, kept := obj.Object["data"].(map[string]string)["a"]; !kept {
		t.Error("an expression that could not read the object still changed it")
	}
}

// TestJQRefusesUnboundedSteps: expressions whose single step can allocate
// without bound are refused when the rules are compiled, naming why;
// ordinary path expressions (Argo CD's documented ones) compile.
func TestJQRefusesUnboundedSteps(t *testing.T) {
	for expr, want := range map[string]string{
		`.spec | select(("a" * 1e9) | length > 0)`:                    "* operator is not allowed",
		`.spec | select((null | .[1e8] = 1) | length > 0)`:            "assignment",
		`.spec | select((.a |= 1) | length > 0)`:                      "assignment",
		`.spec | select((null | setpath([1e8]; 1)) | not)`:            "setpath is not allowed",
		`.spec | select(pick(.[1e8]) | not)`:                          "pick is not allowed",
		`def f: [f]; .spec | select(f | not)`:                         "function definitions",
		`.spec | select(reduce range(9) as $i (.; setpath([$i]; 1)))`: "setpath is not allowed",
		`.spec | select("\(setpath([1]; 1))" == "")`:                  "setpath is not allowed",
		`.spec | select(debug | not)`:                                 "debug is not allowed",
	} {
		_, err := New([]Rule{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{expr}}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", expr, err, want)
		}
	}
	for _, expr := range []string{
		`.spec.template.spec.initContainers[] | select(.name == "injected-init-container")`,
		`.spec.containers[] | select(.image | startswith("istio"))`,
		`.metadata.annotations."kubectl.kubernetes.io/restartedAt"`,
		`.spec.rules[] | select(.host | test("^preview-"))`,
		`.data | to_entries[] | select(.value + "x" == "yx") | .key as $k | $k`,
	} {
		if _, err := New([]Rule{{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{expr}}}); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
}

// TestJQMemoryBound: an expression that allocates step by step (a
// billion-element array) is stopped once it has allocated more than its
// bound, long before its time bound, and the other rules still run.
func TestJQMemoryBound(t *testing.T) {
	n, err := New([]Rule{{Group: "apps", Kind: "Deployment",
		JQPathExpressions: []string{`.spec | select([range(1e9)] | length > 0)`, `.spec.replicas`}}},
		WithJQTimeout(time.Minute), WithJQMaxBytes(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	live := object(t, deployment)
	start := time.Now()
	if err := n.Normalize(live, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("Normalize took %s: the 16 MiB bound did not stop the expression", d)
	}
	if _, found := live.Object["spec"].(map[string]any)["replicas"]; found {
		t.Error("the expression after the one stopped did not run")
	}
	if _, found := live.Object["spec"]; !found {
		t.Error("the stopped expression removed spec")
	}
	code, err := compileJQ(`.spec | select([range(1e9)] | length > 0)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runJQ(code, map[string]any{"spec": map[string]any{}}, time.Minute, 16<<20); err == nil || !strings.Contains(err.Error(), "allocating more than 16 MiB") {
		t.Errorf("runJQ: %v, want the memory bound named", err)
	}
}

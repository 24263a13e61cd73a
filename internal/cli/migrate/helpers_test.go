package migrate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// convert runs Convert on one YAML input and fails the test on error.
func convert(t *testing.T, input string, o Options) *Result {
	t.Helper()
	res, err := Convert([]Input{{Name: "test.yaml", Data: []byte(input)}}, o)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return res
}

// rendered returns the objects of res as generic maps keyed "Kind/name",
// as WriteYAML writes them.
func rendered(t *testing.T, res *Result) map[string]map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := res.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	docs, err := readDocuments([]Input{{Name: "output", Data: buf.Bytes()}})
	if err != nil {
		t.Fatalf("output does not read back: %v\n%s", err, buf.String())
	}
	out := map[string]map[string]any{}
	for _, d := range docs {
		out[d.kind+"/"+d.name] = d.fields
	}
	return out
}

// get returns the value at a dotted path ("spec.ref.branch",
// "spec.images[0].name") of obj, rendered as YAML flow text for
// non-scalars, or "<none>".
func get(obj map[string]any, path string) string {
	var v any = obj
	for _, seg := range strings.Split(path, ".") {
		key, idx := seg, -1
		if i := strings.Index(seg, "["); i >= 0 {
			key = seg[:i]
			fmt.Sscanf(seg[i:], "[%d]", &idx)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return "<none>"
		}
		if v, ok = m[key]; !ok {
			return "<none>"
		}
		if idx >= 0 {
			l, ok := v.([]any)
			if !ok || idx >= len(l) {
				return "<none>"
			}
			v = l[idx]
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case map[string]any, []any:
		data, _ := yaml.Marshal(x)
		return strings.TrimSpace(string(data))
	}
	return fmt.Sprint(v)
}

func warningLines(res *Result) []string {
	var out []string
	for _, w := range res.Warnings {
		out = append(out, w.String())
	}
	return out
}

// checkWarnings wants exactly one warning per entry of want, each
// containing that text.
func checkWarnings(t *testing.T, res *Result, want []string) {
	t.Helper()
	got := warningLines(res)
	sort.Strings(got)
	if len(got) != len(want) {
		t.Errorf("got %d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
		return
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && strings.Contains(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no warning containing %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// checkFields compares "Kind/name spec.path" keys with their values.
func checkFields(t *testing.T, objs map[string]map[string]any, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		id, path, _ := strings.Cut(k, " ")
		obj, ok := objs[id]
		if !ok {
			names := make([]string, 0, len(objs))
			for n := range objs {
				names = append(names, n)
			}
			t.Errorf("no object %s among %v", id, names)
			continue
		}
		if got := get(obj, path); got != want[k] {
			t.Errorf("%s %s = %q, want %q", id, path, got, want[k])
		}
	}
}

// app wraps a spec body (indented by two spaces) in an Application.
func app(spec string) string {
	return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: app\n  namespace: argocd\nspec:\n" + spec
}

// gitAppHead is the start of an automated, in-cluster Application spec
// deploying into namespace web; a test adds the source.
const gitAppHead = `  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: web
  syncPolicy:
    automated: {prune: true, selfHeal: true}
`

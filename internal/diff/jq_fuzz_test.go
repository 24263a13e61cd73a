package diff

import (
	"testing"
	"time"
)

// FuzzJQPathExpression: any jqPathExpression either is refused when
// compiled or runs on an object without panicking, within its time bound
// (plus scheduling slack) and its memory bound.
func FuzzJQPathExpression(f *testing.F) {
	for _, seed := range []string{
		`.spec.template.spec.initContainers[] | select(.name == "injected-init-container")`,
		`.spec.containers[] | select(.image | startswith("istio"))`,
		`.metadata.annotations."a"`,
		`.spec | select([range(1e9)] | length > 0)`,
		`.spec | select(("a" * 1e9) | length > 0)`,
		`.spec | until(false; .)`,
		`.a) | .b = 1 | del(.c`,
	} {
		f.Add(seed)
	}
	obj := map[string]any{"spec": map[string]any{"replicas": int64(2), "containers": []any{map[string]any{"name": "a", "image": "istio/proxy"}}},
		"metadata": map[string]any{"annotations": map[string]any{"a": "b"}}}
	f.Fuzz(func(t *testing.T, expr string) {
		code, err := compileJQ(expr)
		if err != nil {
			return
		}
		start := time.Now()
		_, _ = runJQ(code, obj, 50*time.Millisecond, 8<<20)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q ran %s past a 50ms bound", expr, d)
		}
	})
}

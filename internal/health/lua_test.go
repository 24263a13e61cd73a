package health

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// certificateScript is the cert-manager Certificate check from Argo CD's
// documentation, as users paste it into argocd-cm.
const certificateScript = `hs = {}
if obj.status ~= nil then
  if obj.status.conditions ~= nil then
    for i, condition in ipairs(obj.status.conditions) do
      if condition.type == "Ready" and condition.status == "False" then
        hs.status = "Degraded"
        hs.message = condition.message
        return hs
      end
      if condition.type == "Ready" and condition.status == "True" then
        hs.status = "Healthy"
        hs.message = condition.message
        return hs
      end
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
`

func certificate(status string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": "web", "namespace": "apps", "generation": int64(2)}}}
	if status != "" {
		u.Object["status"] = map[string]any{"conditions": []any{
			map[string]any{"type": "Issuing", "status": "True"},
			map[string]any{"type": "Ready", "status": status, "message": "ready is " + status},
		}}
	}
	return u
}

func TestLuaHealthScripts(t *testing.T) {
	scripts, err := ScriptsFromConfigMap(map[string]string{
		"resource.customizations.health.cert-manager.io_Certificate": certificateScript,
		"resource.customizations.health._ConfigMap":                  `return {status = "Suspended", message = obj.metadata.name}`,
		"resource.customizations.health.*.crossplane.io_*":           `return {status = "Degraded", message = "any crossplane kind"}`,
		"resource.customizations.health.apps_Deployment":             `return {status = "Degraded", message = "overrides the built-in rule"}`,
		"resource.customizations":                                    "example.com/Widget:\n  health.lua: |\n    return {status = \"Healthy\", message = tostring(#obj.spec.parts)}\n",
		"unrelated.key":                                              "not lua at all (",
	})
	if err != nil {
		t.Fatal(err)
	}
	if scripts.Len() != 5 {
		t.Errorf("%d scripts, want 5", scripts.Len())
	}
	obj := func(apiVersion, kind string, extra map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "x"}}}
		for k, v := range extra {
			u.Object[k] = v
		}
		return u
	}
	tests := []struct {
		name    string
		obj     *unstructured.Unstructured
		status  Status
		message string
	}{
		{"Certificate Ready=True", certificate("True"), Healthy, "ready is True"},
		{"Certificate Ready=False", certificate("False"), Degraded, "ready is False"},
		{"Certificate without status", certificate(""), Progressing, "Waiting for certificate"},
		{"core group", obj("v1", "ConfigMap", nil), Suspended, "x"},
		{"glob on group and kind", obj("ec2.aws.crossplane.io/v1", "VPC", nil), Degraded, "any crossplane kind"},
		{"a script overrides a built-in rule", obj("apps/v1", "Deployment", nil), Degraded, "overrides the built-in rule"},
		{"old resource.customizations block, arrays from 1", obj("example.com/v1", "Widget", map[string]any{"spec": map[string]any{"parts": []any{"a", "b", "c"}}}), Healthy, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := AssessWith(context.Background(), scripts, tt.obj)
			if err != nil || res == nil || res.Status != tt.status || res.Message != tt.message {
				t.Fatalf("got %+v, %v; want %s %q", res, err, tt.status, tt.message)
			}
		})
	}
	// No script: the built-in rules, or none.
	if res, err := AssessWith(context.Background(), scripts, obj("example.com/v1", "Gadget", nil)); res != nil || err != nil {
		t.Errorf("a kind without a script or rule: %+v, %v", res, err)
	}
	if res, err := AssessWith(context.Background(), nil, certificate("True")); res != nil || err != nil {
		t.Errorf("no scripts at all: %+v, %v", res, err)
	}
}

func TestLuaHealthScriptFailures(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"runtime error", `return obj.status.missing.field`, "attempt to index"},
		{"no table", `return "Healthy"`, "not a table"},
		{"invalid status", `return {status = "Fine"}`, `status "Fine"`},
		{"endless loop is stopped", `while true do end`, "did not finish within"},
		{"no file access", `return {status = io.open("/etc/passwd"):read("*a")}`, "non-table object(nil) with key 'open'"},
		{"no code loading", `return load("return 1")()`, "attempt to call a non-function object"},
		{"no os", `os.execute("true") return {status = "Healthy"}`, "non-table object(nil) with key 'execute'"},
		{"endless recursion", `local function f() return 1 + f() end return {status = f()}`, "stack overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scripts, err := ScriptsFromConfigMap(map[string]string{"resource.customizations.health.example.com_Widget": tt.script})
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
			start := time.Now()
			res, err := AssessWith(context.Background(), scripts, u)
			if err == nil || res == nil || res.Status != Unknown || !strings.Contains(err.Error(), tt.want) || res.Message != err.Error() {
				t.Fatalf("got %+v, %v; want Unknown with an error containing %q", res, err, tt.want)
			}
			if !strings.Contains(err.Error(), "resource.customizations.health.example.com_Widget") || strings.Contains(err.Error(), "traceback") {
				t.Errorf("error %q does not name the argocd-cm key, or carries Lua's stack traceback", err)
			}
			if took := time.Since(start); took > LuaTimeout+time.Second {
				t.Errorf("took %s", took)
			}
			// The pool keeps working after a failed run.
			ok, _ := ScriptsFromConfigMap(map[string]string{"resource.customizations.health.example.com_Widget": `return {status = "Healthy"}`})
			if res, err := AssessWith(context.Background(), ok, u); err != nil || res.Status != Healthy {
				t.Errorf("a good script after a bad one: %+v, %v", res, err)
			}
		})
	}
}

// A script that does not compile is reported by key and makes its kind
// Unknown, while the other scripts keep working.
func TestScriptsFromConfigMapReportsBadScripts(t *testing.T) {
	good := map[string]string{"resource.customizations.health.example.com_Gadget": `return {status = "Healthy"}`}
	gadget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": map[string]any{"name": "g"}}}
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
	for _, tc := range []struct {
		key, value, want string
		widgetUnknown    bool
	}{
		{"resource.customizations.health.example.com_Widget", "return {status = ", "resource.customizations.health.example.com_Widget", true},
		{"resource.customizations.health.nokind", "return {}", "is not <group>_<kind>", false},
		{"resource.customizations", "example.com/Widget:\n  health.lua: |\n    if then\n", "resource.customizations.example.com/Widget", true},
		{"resource.customizations", "not: [valid", "resource.customizations", false},
		{"resource.customizations.health.example.com_Widget", strings.Repeat(" ", maxLuaScriptSize+1), "larger than", true},
	} {
		data := map[string]string{tc.key: tc.value}
		for k, v := range good {
			data[k] = v
		}
		s, err := ScriptsFromConfigMap(data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.key, err, tc.want)
		}
		if res, err := AssessWith(context.Background(), s, gadget); err != nil || res.Status != Healthy {
			t.Errorf("%s: the good script stopped working: %+v, %v", tc.key, res, err)
		}
		res, err := AssessWith(context.Background(), s, widget)
		if tc.widgetUnknown && (err == nil || res.Status != Unknown || !strings.Contains(res.Message, tc.want)) {
			t.Errorf("%s: a Widget is %+v (%v), want Unknown naming the broken script", tc.key, res, err)
		}
	}
}

// FuzzScriptsFromConfigMap: whatever argocd-cm holds, compiling and running
// its scripts on an object returns or fails; it never panics or hangs.
func FuzzScriptsFromConfigMap(f *testing.F) {
	f.Add(certificateScript, "example.com/Widget:\n  health.lua: return {status='Healthy'}\n")
	f.Add(`return {status = obj.kind}`, "")
	f.Add(`local t = {} for i = 1, 10 do t[i] = obj end return t`, "x: y")
	f.Fuzz(func(t *testing.T, script, block string) {
		scripts, _ := ScriptsFromConfigMap(map[string]string{
			"resource.customizations.health.example.com_Widget": script,
			"resource.customizations":                           block,
		})
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w"}, "spec": map[string]any{"n": int64(3), "list": []any{"a", nil, true}}}}
		res, err := AssessWith(context.Background(), scripts, u)
		if scripts.scriptFor(u.GroupVersionKind().GroupKind()) != nil && (res == nil || err != nil && res.Status != Unknown) {
			t.Fatalf("a script ran and returned %+v, %v; want a result, Unknown on error", res, err)
		}
	})
}

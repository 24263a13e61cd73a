package engine

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestApplyCreatesConfiguresAndWritesNothingWhenUnchanged(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	t.Cleanup(func() {
		for _, o := range []client.Object{typed("v1", "Namespace", "", "engine-set"),
			typed("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.engine.tether.dev")} {
			_ = admin(t).Delete(context.Background(), o)
		}
	})
	eng, reqs := newEngine(t, env.Config, ownerNamed("set"))
	in := load(t, "set/namespace.yaml", "set/crd.yaml", "set/widget.yaml", "set/deployment.yaml", "set/configmap.yaml")

	res, err := eng.Apply(ctx, in, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantInventory := Inventory{
		{ID: "_widgets.engine.tether.dev_apiextensions.k8s.io_CustomResourceDefinition", Version: "v1"},
		{ID: "_engine-set__Namespace", Version: "v1"},
		{ID: "engine-set_settings__ConfigMap", Version: "v1"},
		{ID: "engine-set_web_apps_Deployment", Version: "v1"},
		{ID: "engine-set_gadget_engine.tether.dev_Widget", Version: "v1"},
	}
	if !reflect.DeepEqual(res.Inventory, wantInventory) {
		t.Errorf("inventory = %v, want %v", res.Inventory, wantInventory)
	}
	for _, c := range res.ChangeSet {
		if c.Action != ActionCreated {
			t.Errorf("%s, want created", c)
		}
	}
	if c := res.ChangeSet[3]; c.Source != "testdata/set/deployment.yaml" || c.Subject != "Deployment/engine-set/web" {
		t.Errorf("change %+v: want source and subject of the Deployment", c)
	}
	dep := get(t, "apps/v1", "Deployment", "engine-set", "web")
	if dep == nil || dep.GetLabels()["kustomize.toolkit.fluxcd.io/name"] != "set" {
		t.Fatalf("Deployment not created with owner labels: %v", dep)
	}
	if w := get(t, "engine.tether.dev/v1", "Widget", "engine-set", "gadget"); w == nil {
		t.Fatal("Widget not created")
	}

	reqs.Reset()
	res, err = eng.Apply(ctx, in, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.ChangeSet {
		if c.Action != ActionUnchanged {
			t.Errorf("second apply: %s, want unchanged", c)
		}
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("second apply wrote: %v", w)
	}
	if !reflect.DeepEqual(res.Inventory, wantInventory) {
		t.Errorf("second inventory = %v", res.Inventory)
	}

	reqs.Reset()
	set(t, find(t, in, "ConfigMap", "settings"), "bonjour", "data", "greeting")
	res, err = eng.Apply(ctx, in, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(res.ChangeSet)
	for subject, a := range got {
		want := ActionUnchanged
		if subject == "ConfigMap/engine-set/settings" {
			want = ActionConfigured
		}
		if a != want {
			t.Errorf("third apply: %s %s, want %s", subject, a, want)
		}
	}
	if w := reqs.Writes(); len(w) != 1 || !strings.HasPrefix(w[0], "PATCH ") {
		t.Errorf("third apply wrote %v, want one PATCH", w)
	}
	cm := get(t, "v1", "ConfigMap", "engine-set", "settings")
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "greeting"); v != "bonjour" {
		t.Errorf("greeting = %q", v)
	}
}

func TestApplyInvalidObjectWritesNothing(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-invalid")
	eng, reqs := newEngine(t, env.Config, ownerNamed("invalid"))
	in := load(t, "invalid/configmap.yaml", "invalid/deployment.yaml", "invalid/typo.yaml")
	second := find(t, in, "Deployment", "broken").DeepCopy()
	second.SetName("broken-too")
	in = append(in, Input{Obj: second, Source: "testdata/invalid/second.yaml"})

	res, err := eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: ns})
	if err == nil {
		t.Fatalf("apply succeeded: %v", res.ChangeSet)
	}
	t.Logf("error: %v", err)
	mustContain(t, err.Error(),
		"testdata/invalid/deployment.yaml: Deployment/engine-invalid/broken: spec.replicas: Invalid value: -1",
		"testdata/invalid/second.yaml: Deployment/engine-invalid/broken-too: spec.replicas",
		// Unknown fields are errors, not silently dropped.
		"testdata/invalid/typo.yaml: Deployment/engine-invalid/typo: ", ".spec.replicass: field not declared in schema")
	if !apierrors.IsInvalid(err) {
		t.Errorf("apierrors.IsInvalid(%v) = false", err)
	}
	if res != nil {
		t.Errorf("result %+v on a failed validation", res)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
	if get(t, "v1", "ConfigMap", ns, "valid-settings") != nil {
		t.Error("the valid ConfigMap was created")
	}
}

func TestApplyRejectsDuplicatesAndUnknownKinds(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	eng, reqs := newEngine(t, env.Config, ownerNamed("plan"))
	in := load(t, "invalid/configmap.yaml", "invalid/configmap.yaml")
	in[1].Source = "testdata/invalid/copy.yaml"
	gizmo := &unstructured.Unstructured{}
	gizmo.SetAPIVersion("engine.tether.dev/v9")
	gizmo.SetKind("Gizmo")
	gizmo.SetName("g")
	in = append(in, Input{Obj: gizmo, Source: "gizmo.yaml"})

	_, err := eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: "default"})
	if err == nil {
		t.Fatal("apply succeeded")
	}
	t.Logf("error: %v", err)
	mustContain(t, err.Error(),
		"testdata/invalid/copy.yaml: ConfigMap/default/valid-settings: duplicate: testdata/invalid/configmap.yaml declares the same object",
		"gizmo.yaml: Gizmo/g: no kind Gizmo in engine.tether.dev/v9")
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

func TestApplyForbiddenObjectWritesNothing(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	team := namespace(t, "engine-team")
	namespace(t, "engine-other")
	grant(t, team, "team")
	cfg, err := env.AddUser("team")
	if err != nil {
		t.Fatal(err)
	}
	eng, reqs := newEngine(t, cfg, ownerNamed("team"))
	in := load(t, "forbidden/configmap.yaml", "forbidden/deployment.yaml")

	_, err = eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: team})
	if err == nil {
		t.Fatal("apply succeeded")
	}
	t.Logf("error: %v", err)
	mustContain(t, err.Error(), `testdata/forbidden/deployment.yaml: Deployment/engine-other/intruder: forbidden: User "team" cannot patch resource "deployments" in API group "apps" in the namespace "engine-other"`)
	if strings.Contains(err.Error(), "team-settings") {
		t.Errorf("error names the allowed ConfigMap: %v", err)
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("apierrors.IsForbidden(%v) = false", err)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
	if get(t, "v1", "ConfigMap", team, "team-settings") != nil {
		t.Error("the allowed ConfigMap was created")
	}

	// What the user may do, it does.
	res, err := eng.Apply(ctx, in[:1], ApplyOptions{DefaultNamespace: team})
	if err != nil {
		t.Fatal(err)
	}
	if res.ChangeSet[0].Action != ActionCreated {
		t.Errorf("%s, want created", res.ChangeSet[0])
	}
}

func TestApplyExclusionsSkip(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-exclude")
	eng, reqs := newEngine(t, env.Config, ownerNamed("exclude"))
	in := load(t, "invalid/configmap.yaml", "invalid/deployment.yaml")
	broken := find(t, in, "Deployment", "broken")
	broken.SetAnnotations(map[string]string{"kustomize.toolkit.fluxcd.io/reconcile": "disabled"})
	opts := ApplyOptions{DefaultNamespace: ns, Exclusions: map[string]string{"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}}

	res, err := eng.Apply(ctx, in, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{"ConfigMap/engine-exclude/valid-settings": ActionCreated, "Deployment/engine-exclude/broken": ActionSkipped}
	if got := actions(res.ChangeSet); !reflect.DeepEqual(got, want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	if len(res.Inventory) != 2 {
		t.Errorf("inventory %v: skipped objects stay the owner's", res.Inventory)
	}
	if get(t, "apps/v1", "Deployment", ns, "broken") != nil {
		t.Error("excluded Deployment was created")
	}
	if w := reqs.Writes(); len(w) != 1 {
		t.Errorf("wrote %v, want the ConfigMap only", w)
	}
}

func TestApplyImmutableFieldsNeedForce(t *testing.T) {
	needCluster(t)
	ns := namespace(t, "engine-immutable")
	tests := []struct {
		name, file, kind, objName string
		change                    func(*unstructured.Unstructured)
		field, problem            string
	}{
		{name: "Job template", file: "immutable/job.yaml", kind: "Job", objName: "migrate",
			change: func(u *unstructured.Unstructured) {
				set(t, u, []any{map[string]any{"name": "migrate", "image": "busybox:1.37", "command": []any{"true"}}},
					"spec", "template", "spec", "containers")
			},
			field: "spec.template", problem: "field is immutable"},
		{name: "Service clusterIP", file: "immutable/service.yaml", kind: "Service", objName: "fixed-ip",
			change: func(u *unstructured.Unstructured) { set(t, u, "10.96.100.11", "spec", "clusterIP") },
			field:  "spec.clusterIPs[0]", problem: "may not change once set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			eng, reqs := newEngine(t, env.Config, ownerNamed("immutable"))
			in := load(t, tc.file)
			opts := ApplyOptions{DefaultNamespace: ns}
			if _, err := eng.Apply(ctx, in, opts); err != nil {
				t.Fatal(err)
			}
			apiVersion := in[0].Obj.GetAPIVersion()
			before := get(t, apiVersion, tc.kind, ns, tc.objName)
			tc.change(in[0].Obj)

			reqs.Reset()
			_, err := eng.Apply(ctx, in, opts)
			if err == nil {
				t.Fatal("apply without force succeeded")
			}
			t.Logf("error: %v", err)
			mustContain(t, err.Error(), "testdata/"+tc.file+": "+tc.kind+"/"+ns+"/"+tc.objName+": "+tc.field, tc.problem)
			if w := reqs.Writes(); len(w) != 0 {
				t.Errorf("wrote %v", w)
			}

			// Force with an invalid field besides: the object is not deleted.
			invalid := in[0].Obj.DeepCopy()
			set(t, invalid, "not-a-valid-label-", "metadata", "labels", "tier")
			_, err = eng.Apply(ctx, []Input{{Obj: invalid, Source: "invalid.yaml"}}, ApplyOptions{DefaultNamespace: ns, Force: true})
			if err == nil {
				t.Fatal("forced apply of an invalid object succeeded")
			}
			t.Logf("error: %v", err)
			mustContain(t, err.Error(), "invalid.yaml: ", "metadata.labels")
			if w := reqs.Writes(); len(w) != 0 {
				t.Errorf("forced apply of an invalid object wrote %v", w)
			}

			res, err := eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: ns, Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if a := res.ChangeSet[0].Action; a != ActionCreated {
				t.Errorf("forced apply: %s, want created", res.ChangeSet[0])
			}
			after := get(t, apiVersion, tc.kind, ns, tc.objName)
			if after == nil || after.GetUID() == before.GetUID() {
				t.Errorf("object was not re-created: %v", after)
			}
		})
	}
}

func TestDiffReportsDriftWithoutWriting(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-diff")
	eng, reqs := newEngine(t, env.Config, ownerNamed("diff"))
	in := load(t, "set/configmap.yaml", "set/deployment.yaml")
	for _, i := range in {
		i.Obj.SetNamespace(ns)
	}
	if _, err := eng.Apply(ctx, in, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	live := typed("apps/v1", "Deployment", ns, "web")
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":3}}`))
	if err := admin(t).Patch(ctx, live, patch, client.FieldOwner("someone-else")); err != nil {
		t.Fatal(err)
	}

	reqs.Reset()
	changes, err := eng.Diff(ctx, in, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{"ConfigMap/engine-diff/settings": ActionUnchanged, "Deployment/engine-diff/web": ActionConfigured}
	if got := actions(changes); !reflect.DeepEqual(got, want) {
		t.Errorf("diff = %v, want %v", got, want)
	}
	for _, c := range changes {
		if c.Action != ActionConfigured {
			continue
		}
		l, _, _ := unstructured.NestedInt64(c.Live.Object, "spec", "replicas")
		d, _, _ := unstructured.NestedInt64(c.Desired.Object, "spec", "replicas")
		if l != 3 || d != 1 {
			t.Errorf("live replicas %d, desired %d; want 3 and 1", l, d)
		}
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("diff wrote %v", w)
	}
}

func TestErrorsJoinAllFailures(t *testing.T) {
	err := errors.Join(&ObjectError{Source: "a.yaml", Subject: "ConfigMap/x/a", Err: errors.New("boom")},
		&ObjectError{Source: "b.yaml", Subject: "ConfigMap/x/b", Err: errors.New("bang")})
	if got := err.Error(); got != "a.yaml: ConfigMap/x/a: boom\nb.yaml: ConfigMap/x/b: bang" {
		t.Errorf("got %q", got)
	}
}

// Objects in a Namespace, or of a CRD, that the set creates cannot be
// dry-run before the Namespace or CRD exists: Diff reports them created,
// and Apply validates them in their own stage, after the definitions are
// written and before anything else is.
func TestApplyValidatesObjectsOfNewDefinitionsInTheirStage(t *testing.T) {
	needCluster(t)
	existing := namespace(t, "engine-stage")
	tests := []struct {
		name, ns   string
		files      []string
		definition *unstructured.Unstructured
		wantErr    string
	}{
		{name: "Namespace", ns: "engine-new-ns", files: []string{"invalid/configmap.yaml", "invalid/deployment.yaml"},
			definition: typed("v1", "Namespace", "", "engine-new-ns"),
			wantErr:    "testdata/invalid/deployment.yaml: Deployment/engine-new-ns/broken: spec.replicas: Invalid value: -1"},
		{name: "CRD", ns: existing, files: []string{"invalid/configmap.yaml", "stage/crd.yaml", "stage/gizmo.yaml"},
			definition: typed("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "gizmos.engine.tether.dev"),
			wantErr:    "testdata/stage/gizmo.yaml: Gizmo/engine-stage/tiny: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			t.Cleanup(func() { _ = admin(t).Delete(context.Background(), tc.definition) })
			eng, reqs := newEngine(t, env.Config, ownerNamed("stage"))
			in := load(t, tc.files...)
			if tc.definition.GetKind() == "Namespace" {
				in = append(in, Input{Obj: tc.definition.DeepCopy(), Source: "namespace.yaml"})
			}
			opts := ApplyOptions{DefaultNamespace: tc.ns}

			changes, err := eng.Diff(ctx, in, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range changes {
				if c.Action != ActionCreated {
					t.Errorf("diff: %s, want created", c)
				}
			}

			res, err := eng.Apply(ctx, in, opts)
			if err == nil {
				t.Fatal("apply succeeded")
			}
			t.Logf("error: %v", err)
			mustContain(t, err.Error(), tc.wantErr)
			if w := reqs.Writes(); len(w) != 1 || !strings.Contains(w[0], "/"+tc.definition.GetName()) {
				t.Errorf("wrote %v, want the %s only", w, tc.name)
			}
			if get(t, "v1", "ConfigMap", tc.ns, "valid-settings") != nil {
				t.Error("ConfigMap created")
			}
			want := Inventory{EntryOf(tc.definition)}
			if res == nil || !reflect.DeepEqual(res.Inventory, want) || len(res.ChangeSet) != 1 || res.ChangeSet[0].Action != ActionCreated {
				t.Errorf("partial result %+v, want the %s created", res, tc.name)
			}
		})
	}
}

package engine

import (
	"testing"
)

// TestApplyTrustsComparedObjects: an Apply given the Compare of the same
// set writes each changed object with one request and no more dry runs,
// writes nothing for an unchanged one, and diffs again an object whose
// desired state changed since.
func TestApplyTrustsComparedObjects(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-compared")
	eng, reqs := newEngine(t, env.Config, ownerNamed("compared"))
	in := load(t, "set/configmap.yaml", "set/deployment.yaml")
	for _, i := range in {
		i.Obj.SetNamespace(ns)
	}
	if _, err := eng.Apply(ctx, in[:1], ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	cmps, err := eng.Compare(ctx, in, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(changesOf(cmps))
	if got["ConfigMap/"+ns+"/settings"] != ActionUnchanged || got["Deployment/"+ns+"/web"] != ActionCreated {
		t.Fatalf("compare actions %v", got)
	}
	for _, c := range cmps {
		if c.Live == nil && c.Desired.GetKind() == "ConfigMap" || c.Predicted == nil {
			t.Errorf("%s: live %v predicted %v", c.Subject, c.Live != nil, c.Predicted != nil)
		}
	}
	reqs.Reset()
	res, err := eng.Apply(ctx, in, ApplyOptions{Compared: cmps})
	if err != nil {
		t.Fatal(err)
	}
	if w := reqs.Writes(); len(w) != 1 || reqs.dryRun != 0 {
		t.Errorf("writes %v and %d dry runs; want one write (the new Deployment) and none", w, reqs.dryRun)
	}
	if a := actions(res.ChangeSet); a["Deployment/"+ns+"/web"] != ActionCreated || a["ConfigMap/"+ns+"/settings"] != ActionUnchanged {
		t.Errorf("apply actions %v", a)
	}

	set(t, in[0].Obj, map[string]any{"changed": "yes"}, "data")
	reqs.Reset()
	res, err = eng.Apply(ctx, in, ApplyOptions{Compared: cmps})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res.ChangeSet); a["ConfigMap/"+ns+"/settings"] != ActionConfigured {
		t.Errorf("a ConfigMap changed since the comparison: %v, want configured", a)
	}
	if reqs.dryRun == 0 {
		t.Error("the changed ConfigMap was not dry-run again")
	}
}

func changesOf(cmps []Comparison) []Change {
	out := make([]Change, 0, len(cmps))
	for _, c := range cmps {
		out = append(out, c.Change)
	}
	return out
}

package install

import (
	"strings"
	"testing"
)

// The embedded copy builds every overlay; each holds the CRDs, one
// Deployment running `tether run`, and nothing in a namespace of another
// overlay.
func TestManifests(t *testing.T) {
	want := map[string]string{"base": "tether-system", "argocd-compat": "argocd", "flux-compat": "flux-system"}
	for _, overlay := range Overlays {
		objs, err := Manifests(overlay)
		if err != nil {
			t.Fatalf("%s: %v", overlay, err)
		}
		kinds := map[string]int{}
		for _, o := range objs {
			kinds[o.GetKind()]++
			if ns := o.GetNamespace(); ns != "" && ns != want[overlay] {
				t.Errorf("%s: %s %s in namespace %s, want %s", overlay, o.GetKind(), o.GetName(), ns, want[overlay])
			}
			if o.GetKind() == "Deployment" {
				args, _, _ := unstructuredArgs(o.Object)
				if len(args) == 0 || args[0] != "run" {
					t.Errorf("%s: the Deployment runs %v, want tether run", overlay, args)
				}
			}
		}
		if kinds["CustomResourceDefinition"] != 17 || kinds["Deployment"] != 1 || kinds["Namespace"] != 1 {
			t.Errorf("%s: kinds %v", overlay, kinds)
		}
	}
	if _, err := Manifests("nope"); err == nil || !strings.Contains(err.Error(), "unknown overlay") {
		t.Errorf("an unknown overlay: %v", err)
	}
}

func unstructuredArgs(obj map[string]any) ([]string, bool, error) {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	containers, _ := pod["containers"].([]any)
	if len(containers) == 0 {
		return nil, false, nil
	}
	c, _ := containers[0].(map[string]any)
	raw, _ := c["args"].([]any)
	var args []string
	for _, a := range raw {
		s, _ := a.(string)
		args = append(args, s)
	}
	return args, true, nil
}

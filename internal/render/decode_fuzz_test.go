package render

import "testing"

// FuzzDecodeManifests: every YAML file of a repository is decoded. It must
// fail with an error, never panic, and what it accepts are objects with
// an apiVersion and a kind.
func FuzzDecodeManifests(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Secret, metadata: {name: b}}]\n"), false)
	f.Add([]byte("kind: [\n"), false)
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"), true)
	f.Add([]byte("--- \n...\n---\n# only a comment\n"), false)
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: 1, x: 2}\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, lenient bool) {
		objs, err := decodeManifests("fuzz.yaml", data, lenient)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("accepted an object without apiVersion or kind: %v", o.Object)
			}
		}
	})
}

package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzMigrateInput feeds arbitrary YAML to Convert: it must return an
// error or output that reads back as YAML documents, and never panic.
func FuzzMigrateInput(f *testing.F) {
	seeds, _ := filepath.Glob("../../../test/e2e/testdata/seed-examples/*.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(app(gitAppHead + "  source: {repoURL: r, chart: c, helm: {parameters: [{name: a.b[0], value: x}]}}\n")))
	f.Add([]byte(gitRepo + "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k, namespace: flux-system}\nspec: {sourceRef: {kind: GitRepository, name: repo}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Convert([]Input{{Name: "fuzz.yaml", Data: data}}, Defaults())
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := res.WriteYAML(&buf); err != nil {
			t.Fatalf("WriteYAML: %v", err)
		}
		if _, err := readDocuments([]Input{{Name: "output", Data: buf.Bytes()}}); err != nil {
			t.Fatalf("output does not read back: %v\n%s", err, buf.String())
		}
	})
}

package helm

import (
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// FuzzParseIndex: a chart repository's index.yaml comes from any server a
// HelmRepository names.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nentries:\n  podinfo:\n  - name: podinfo\n    version: 6.0.0\n    urls: [podinfo-6.0.0.tgz]\n"))
	f.Add([]byte("apiVersion: v1\nentries:\n  x:\n  - {name: x, version: not-semver}\n  - null\n"))
	f.Add([]byte("entries: {a: [{name: '', version: 1.0.0, urls: [../../etc/passwd]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ParseIndex(data)
		if err != nil {
			return
		}
		for name, versions := range idx.Entries {
			for _, v := range versions {
				if v == nil || v.Metadata == nil {
					t.Fatalf("entry %s kept a nil version", name)
				}
			}
		}
	})
}

// FuzzLoadArchive: a chart archive comes from a repository or registry.
func FuzzLoadArchive(f *testing.F) {
	ch := &Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "demo", Version: "1.0.0"}}
	ch.Templates = append(ch.Templates, &common.File{Name: "templates/cm.yaml", Data: []byte("kind: ConfigMap")})
	if data, err := Package(ch); err == nil {
		f.Add(data)
	}
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		ch, err := LoadArchive(data)
		if err == nil && (ch.Metadata == nil || ch.Name() == "") {
			t.Fatal("loaded a chart without metadata")
		}
	})
}

// FuzzSetValue: HelmRelease values and Application parameters are set
// with Helm's --set syntax from user input.
func FuzzSetValue(f *testing.F) {
	for _, seed := range [][2]string{{"a.b", "1"}, {"list[0]", "x"}, {"a[65536]", "x"}, {"a\\.b", "c"}, {"a", "{1,2}"}, {"a[", "x"}, {"a[-1]", "x"}, {"", ""}} {
		f.Add(seed[0], seed[1], false)
	}
	f.Fuzz(func(t *testing.T, name, value string, forceString bool) {
		dest := map[string]any{}
		_ = SetValue(dest, name, value, forceString)
		_ = setPath(dest, name, value)
	})
}

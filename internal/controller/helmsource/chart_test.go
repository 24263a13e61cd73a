package helmsource

import (
	"testing"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

func TestChartVersionMetadata(t *testing.T) {
	chart := func(gen int64, files ...string) *sourcev1.HelmChart {
		c := &sourcev1.HelmChart{}
		c.Generation = gen
		c.Spec.ValuesFiles = files
		return c
	}
	cases := []struct {
		name string
		obj  *sourcev1.HelmChart
		in   string
		want string
	}{
		{"no values files", chart(3), "6.0.3", "6.0.3"},
		{"only the chart's values.yaml is no values files", chart(3, "values.yaml"), "6.0.3", "6.0.3"},
		{"values files add the generation", chart(3, "values.yaml", "prod.yaml"), "6.0.3", "6.0.3+3"},
		{"after existing build metadata", chart(2, "prod.yaml"), "6.0.3+4e5cbb7b97d0", "6.0.3+4e5cbb7b97d0.2"},
	}
	for _, c := range cases {
		if got := withValuesGeneration(c.obj, c.in); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := revisionVersion("1.2.0", "main@sha1:4e5cbb7b97d0a1b2c3d4e5f6"); got != "1.2.0+4e5cbb7b97d0" {
		t.Errorf("revisionVersion = %q", got)
	}
	if got := revisionVersion("1.2.0+build", "sha256:abcdef0123456789"); got != "1.2.0+build.abcdef012345" {
		t.Errorf("revisionVersion with metadata = %q", got)
	}
}

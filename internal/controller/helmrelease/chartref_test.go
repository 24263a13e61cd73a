package helmrelease

import "testing"

func TestOCIChartVersion(t *testing.T) {
	d := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, version, revision string
		want                    string
		wantErr                 bool
	}{
		{name: "tag and digest", version: "6.1.0", revision: "6.1.0@" + d, want: "6.1.0+0123456789ab"},
		{name: "v tag", version: "6.1.0", revision: "v6.1.0@" + d, want: "6.1.0+0123456789ab"},
		{name: "digest alone", version: "1.0.0", revision: d, want: "1.0.0+0123456789ab"},
		{name: "metadata replaced", version: "1.0.0+build.1", revision: d, want: "1.0.0+0123456789ab"},
		{name: "tag of another version", version: "6.1.0", revision: "6.2.0@" + d, wantErr: true},
		{name: "tag not semver", version: "6.1.0", revision: "latest@" + d, wantErr: true},
		{name: "chart version not semver", version: "x", revision: d, wantErr: true},
		{name: "short digest", version: "1.0.0", revision: "sha256:abc", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, digest, err := ociChartVersion(tt.version, tt.revision)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want || digest != d {
				t.Errorf("= %q, %q, %v; want %q, %q", got, digest, err, tt.want, d)
			}
		})
	}
}

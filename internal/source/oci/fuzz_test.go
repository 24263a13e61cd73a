package oci

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzParseManifest: whatever a registry sends, parseManifest never
// panics, and what it accepts has only layers with valid digests and
// sizes that are not negative. (Layer content goes through
// artifact.Unpack, which has fuzz targets of its own.)
func FuzzParseManifest(f *testing.F) {
	d := "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	f.Add([]byte(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"x","digest":"` + d + `","size":3}]}`))
	f.Add([]byte(`{"manifests":[]}`))
	f.Add([]byte(`{"layers":[{"digest":"sha256:","size":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data)
		if err != nil {
			return
		}
		for _, l := range m.Layers {
			if _, err := v1.NewHash(l.Digest); err != nil || l.Size < 0 {
				t.Fatalf("accepted layer %+v", l)
			}
		}
	})
}

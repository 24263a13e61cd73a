package predicates

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

func TestArtifactChanged(t *testing.T) {
	repo := func(a *meta.Artifact) *sourcev1.GitRepository {
		r := &sourcev1.GitRepository{}
		r.Status.Artifact = a
		return r
	}
	a1 := &meta.Artifact{Revision: "main@sha1:1", Digest: "sha256:1"}
	a2 := &meta.Artifact{Revision: "main@sha1:2", Digest: "sha256:2"}
	tests := []struct {
		name     string
		old, new *meta.Artifact
		want     bool
	}{
		{"first artifact", nil, a1, true},
		{"new revision", a1, a2, true},
		{"same artifact (status noise)", a1, a1.DeepCopy(), false},
		{"artifact gone", a1, nil, false},
	}
	for _, tt := range tests {
		got := ArtifactChanged{}.Update(event.UpdateEvent{ObjectOld: repo(tt.old), ObjectNew: repo(tt.new)})
		if got != tt.want {
			t.Errorf("%s: Update = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (ArtifactChanged{}).Create(event.CreateEvent{Object: repo(a1)}) {
		t.Error("Create passed")
	}
}

// Package predicates holds the event filters that several controllers
// share.
package predicates

import (
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/tether-gitops/tether/api/meta"
)

// Source is an object that publishes an artifact, such as a GitRepository.
type Source interface {
	GetArtifact() *meta.Artifact
}

// ArtifactChanged passes updates of sources whose artifact revision or
// digest changed, so that their consumers reconcile at once. Creations,
// deletions and generic events do not pass.
type ArtifactChanged struct{ predicate.Funcs }

// Update passes when the new artifact differs from the old one.
func (ArtifactChanged) Update(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(Source)
	n, ok2 := e.ObjectNew.(Source)
	if !ok1 || !ok2 || n.GetArtifact() == nil {
		return false
	}
	old, now := o.GetArtifact(), n.GetArtifact()
	return old == nil || old.Digest != now.Digest || old.Revision != now.Revision
}

// Create does not pass.
func (ArtifactChanged) Create(event.CreateEvent) bool { return false }

// Delete does not pass.
func (ArtifactChanged) Delete(event.DeleteEvent) bool { return false }

// Generic does not pass.
func (ArtifactChanged) Generic(event.GenericEvent) bool { return false }

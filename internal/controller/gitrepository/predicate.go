package gitrepository

import (
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// artifactChanged passes updates of GitRepositories whose artifact digest
// changed, so that repositories including them rebuild.
type artifactChanged struct {
	predicate.Funcs
}

// Update passes when the artifact's digest differs between old and new.
func (artifactChanged) Update(e event.UpdateEvent) bool {
	oldRepo, ok1 := e.ObjectOld.(*sourcev1.GitRepository)
	newRepo, ok2 := e.ObjectNew.(*sourcev1.GitRepository)
	if !ok1 || !ok2 || newRepo.Status.Artifact == nil {
		return false
	}
	return oldRepo.Status.Artifact == nil || oldRepo.Status.Artifact.Digest != newRepo.Status.Artifact.Digest
}

// Create does not pass: a new repository has no dependants waiting yet
// that a later artifact update would not reach.
func (artifactChanged) Create(event.CreateEvent) bool { return false }

// Delete does not pass.
func (artifactChanged) Delete(event.DeleteEvent) bool { return false }

// Generic does not pass.
func (artifactChanged) Generic(event.GenericEvent) bool { return false }

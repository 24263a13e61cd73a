package application

import (
	"context"
	"errors"
	"slices"
	"strings"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/render"
)

// errTakenOver stops an attempt whose operation state was written by
// someone else since this replica last wrote it: another replica took the
// operation over, and this one writes nothing more for it.
var errTakenOver = errors.New("another replica took this operation over")

// An operation records its progress as it goes (after each write step,
// each hook created and each hook's end), so that the replica that picks
// it up after a restart or failover resumes it: what was applied, pruned
// or run is neither applied nor run again.

// resumable reports whether st is an attempt that was interrupted (its
// end never recorded), with progress recorded, at the revisions of want
// (this attempt's result).
func resumable(d decision, st *argov1.OperationState, want *argov1.SyncOperationResult) bool {
	return d.resume && st != nil && st.FinishedAt == nil && st.SyncResult != nil && len(st.SyncResult.Resources) > 0 &&
		st.SyncResult.Revision == want.Revision && slices.Equal(st.SyncResult.Revisions, want.Revisions)
}

// resumeFrom carries the recorded results of the interrupted attempt into
// this one and returns what the engine's runner asks of each task.
func (s *syncRun) resumeFrom(prior []argov1.ResourceResult) enginesync.Resume {
	s.results = append([]argov1.ResourceResult(nil), prior...)
	for i, res := range s.results {
		if res.HookType != "" {
			s.hookResults[hookKey{ref: refOfResult(res), phase: res.SyncPhase}] = i
		}
	}
	return func(t *enginesync.Task) enginesync.Result {
		phase := argov1.SyncPhase(t.Phase)
		for _, res := range prior {
			if res.SyncPhase != phase || res.Group != t.Object.Group || res.Kind != t.Object.Kind || res.Namespace != t.Object.Namespace {
				continue
			}
			switch t.Kind {
			case enginesync.TaskApply:
				if res.HookType == "" && res.Name == t.Object.Name && res.Status == argov1.ResultCodeSynced {
					return enginesync.ResultSucceeded
				}
			case enginesync.TaskPrune:
				if res.Name == t.Object.Name && (res.Status == argov1.ResultCodePruned || res.Status == argov1.ResultCodePruneSkipped) {
					return enginesync.ResultSucceeded
				}
			case enginesync.TaskHook:
				if res.HookType == "" || !sameHook(t, res.Name) {
					continue
				}
				t.Object.Name = res.Name // as the API server named it
				switch res.HookPhase {
				case argov1.OperationSucceeded:
					return enginesync.ResultSucceeded
				case argov1.OperationRunning:
					return enginesync.ResultRunning
				}
			}
		}
		return ""
	}
}

// sameHook reports whether the hook of t is the object named name: its
// own name, or one the API server made from its generateName.
func sameHook(t *enginesync.Task, name string) bool {
	if t.Object.Name != "" {
		return t.Object.Name == name
	}
	gen := t.Payload.(render.Object).Obj.GetGenerateName()
	return gen != "" && strings.HasPrefix(name, gen)
}

// refOfResult is the engine's name of a result's object.
func refOfResult(res argov1.ResourceResult) enginesync.Ref {
	return enginesync.Ref{Group: res.Group, Version: res.Version, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name}
}

// Adopt takes over a hook that the interrupted attempt created: it is
// read, not created again, and waited for and cleaned up as this
// attempt's own.
func (s *syncRun) Adopt(ctx context.Context, t *enginesync.Task) error {
	obj, err := s.hookObject(t.Payload.(render.Object))
	if err != nil {
		return err
	}
	obj.SetName(t.Object.Name)
	obj.SetGenerateName("")
	live, err := s.dest.getLive(ctx, obj)
	if err != nil {
		return err
	}
	if live != nil {
		obj = live // its UID guards the cleanup's delete
	}
	s.hooks[t] = &hookRun{obj: obj, policies: deletePolicies(obj)}
	return nil
}

// save records the attempt's progress in the operation state; when
// another writer changed the state meanwhile, the attempt stops.
func (s *syncRun) save() {
	if s.checkpoint == nil || s.takenOver.Load() {
		return
	}
	res := *s.st.SyncResult
	res.Resources = append([]argov1.ResourceResult(nil), s.results...)
	s.st.SyncResult = &res
	if err := s.checkpoint(); errors.Is(err, lifecycle.ErrStatusChanged) {
		s.takenOver.Store(true)
	}
}

package sync

import (
	"time"

	"github.com/tether-gitops/tether/internal/engine"
)

// Recorder publishes the progress of a sync that the engine does in one
// wave (a Flux Kustomization: apply, prune, wait) as the same Events a
// Run publishes, so that the API shows every dialect alike.
type Recorder struct {
	// App names the app, "<Kind>/<namespace>/<name>".
	App string
	// Sink receives the events; nil drops them.
	Sink Sink
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (r Recorder) emit(e Event) {
	if r.Sink == nil {
		return
	}
	e.App, e.Phase = r.App, PhaseSync
	if r.Now != nil {
		e.Time = r.Now()
	} else {
		e.Time = time.Now()
	}
	r.Sink(e)
}

// Sync publishes the run's start (ResultRunning) or end.
func (r Recorder) Sync(res Result, message string) {
	r.emit(Event{Action: ActionSync, Result: res, Message: message})
}

// Changes publishes one event per object of an engine change set: deleted
// objects as prunes, every other as an apply.
func (r Recorder) Changes(changes []engine.Change) {
	for _, c := range changes {
		ref, ok := RefOf(engine.Entry{ID: c.ID, Version: c.Version})
		if !ok {
			continue
		}
		e := Event{Object: &ref, Action: ActionApply, Result: ResultSucceeded, Message: c.String()}
		switch c.Action {
		case engine.ActionDeleted:
			e.Action = ActionPrune
		case engine.ActionSkipped:
			e.Action, e.Result = ActionPrune, ResultSkipped
		}
		r.emit(e)
	}
}

// Wait publishes a health wait's start or end.
func (r Recorder) Wait(res Result, message string) {
	r.emit(Event{Action: ActionWait, Result: res, Message: message})
}

// RefOf is an inventory entry's object; false when its ID does not parse.
func RefOf(e engine.Entry) (Ref, bool) {
	m, err := e.ObjMetadata()
	if err != nil {
		return Ref{}, false
	}
	return Ref{Group: m.GroupKind.Group, Version: e.Version, Kind: m.GroupKind.Kind, Namespace: m.Namespace, Name: m.Name}, true
}

package sync

import (
	gosync "sync"
	"sync/atomic"
	"time"
)

// Action is what an event is about.
type Action string

// The actions.
const (
	// ActionSync is the run as a whole: its start and its end.
	ActionSync Action = "sync"
	// ActionStep is one step (phase and wave) starting.
	ActionStep Action = "step"
	// ActionApply is an object applied (the message says created,
	// configured or unchanged).
	ActionApply Action = "apply"
	// ActionHook is a hook created, then completed or failed.
	ActionHook Action = "hook"
	// ActionPrune is an object deleted, or left alone (ResultSkipped).
	ActionPrune Action = "prune"
	// ActionWait is an object or hook the step waits for.
	ActionWait Action = "wait"
)

// Result is an action's outcome so far.
type Result string

// The results.
const (
	ResultRunning   Result = "Running"
	ResultSucceeded Result = "Succeeded"
	ResultFailed    Result = "Failed"
	ResultSkipped   Result = "Skipped"
)

// Event is one piece of progress of a sync. Messages never hold Secret
// values: Executors word them from the API server's reasons.
type Event struct {
	// Time is when it happened.
	Time time.Time
	// App is the app, "<Kind>/<namespace>/<name>" of the dialect's object,
	// e.g. "Application/argocd/guestbook".
	App string
	// Object is the object concerned; nil for run and step events.
	Object *Ref
	// Phase and Wave are the step the event belongs to.
	Phase Phase
	Wave  int
	// Action is what the event is about; Result how it went.
	Action Action
	Result Result
	// Message says it in words, e.g. "configmap/web configured".
	Message string
}

// Sink receives events. It must not block: Hub.Publish does not.
type Sink func(Event)

// Hub fans events out to subscribers (the API's streams, the CLI's
// watch). A subscriber that does not keep up loses events rather than
// slowing a sync down; Dropped counts them.
type Hub struct {
	mu      gosync.Mutex
	subs    map[*subscription]struct{}
	dropped atomic.Int64
}

type subscription struct {
	app string // "" for every app
	ch  chan Event
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[*subscription]struct{}{}} }

// Publish sends e to every subscriber of its app. It never blocks. A nil
// Hub drops everything, so a controller without one needs no check.
func (h *Hub) Publish(e Event) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.app != "" && s.app != e.App {
			continue
		}
		select {
		case s.ch <- e:
		default:
			h.dropped.Add(1)
		}
	}
}

// Subscribe returns the events of app ("" for every app) from now on,
// buffered up to size, and a cancel that ends the subscription and closes
// the channel.
func (h *Hub) Subscribe(app string, size int) (<-chan Event, func()) {
	s := &subscription{app: app, ch: make(chan Event, size)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	var once gosync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
			close(s.ch)
		})
	}
}

// Dropped is how many events subscribers lost because their buffers were
// full.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

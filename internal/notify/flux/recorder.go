package flux

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-gitops/tether/internal/controller/lifecycle"
)

// Sink takes Flux events; Route must return at once.
type Sink interface {
	Route(Event)
}

// NewRecorder returns an event recorder that records every event through
// next, as before, and hands the Flux event of each Normal or Warning
// event about a Flux object to sink, without blocking. controller is the
// recording controller's name (its "tether-" prefix is dropped, so
// "tether-kustomize-controller" reports as Flux's "kustomize-controller").
func NewRecorder(next lifecycle.EventRecorder, controller string, scheme *runtime.Scheme, sink Sink) lifecycle.EventRecorder {
	return &recorder{next: next, controller: controller, scheme: scheme, sink: sink, now: time.Now}
}

type recorder struct {
	next       lifecycle.EventRecorder
	controller string
	scheme     *runtime.Scheme
	sink       Sink
	now        func() time.Time
}

// Eventf records the event and routes its Flux form. The object is read
// here, while the caller still holds it unchanged; nothing of it is kept.
func (r *recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.next.Eventf(regarding, related, eventtype, reason, action, note, args...)
	if r.sink == nil || regarding == nil {
		return
	}
	msg := note
	if len(args) > 0 {
		msg = fmt.Sprintf(note, args...)
	}
	if ev, ok := NewEvent(r.scheme, regarding, eventtype, reason, msg, r.controller, r.now()); ok {
		r.sink.Route(ev)
	}
}

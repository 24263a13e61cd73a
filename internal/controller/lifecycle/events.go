package lifecycle

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
)

// EventRecorder records Kubernetes events about an object: the part of
// the manager's event recorder that Tether's reconcilers use.
type EventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// MaxEventNote is the longest note the events API accepts (events.k8s.io
// refuses longer ones outright, and the event is lost).
const MaxEventNote = 1024

// Bounded returns rec with every note cut to MaxEventNote bytes (on a
// character boundary, ending in "..."), so that a long error message
// still makes an event instead of none.
func Bounded(rec EventRecorder) EventRecorder { return bounded{rec} }

type bounded struct{ rec EventRecorder }

func (b bounded) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	b.rec.Eventf(regarding, related, eventtype, reason, action, "%s", truncateNote(fmt.Sprintf(note, args...)))
}

func truncateNote(s string) string {
	if len(s) <= MaxEventNote {
		return s
	}
	cut := MaxEventNote - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

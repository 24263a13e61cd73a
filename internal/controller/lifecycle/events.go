package lifecycle

import "k8s.io/apimachinery/pkg/runtime"

// EventRecorder records Kubernetes events about an object: the part of
// the manager's event recorder that Tether's reconcilers use.
type EventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

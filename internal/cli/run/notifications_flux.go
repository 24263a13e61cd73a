package run

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/notify"
)

// fluxEventRecorders returns the event recorder of each Flux controller,
// by the controller's name: Kubernetes Events, bounded in size.
func fluxEventRecorders(mgr ctrl.Manager, _ *Options, _ *notify.Dispatcher) (func(name string) lifecycle.EventRecorder, error) {
	return func(name string) lifecycle.EventRecorder {
		return lifecycle.Bounded(mgr.GetEventRecorder(name))
	}, nil
}

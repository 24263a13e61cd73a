package run

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/notify/flux"
)

// fluxEventRecorders returns the event recorder of each Flux controller,
// by the controller's name: Kubernetes Events, bounded in size, and the
// same events as Flux events for the Alerts that select them (routed by
// a flux.Router added to mgr, delivered through dispatcher).
func fluxEventRecorders(mgr ctrl.Manager, opts *Options, dispatcher *notify.Dispatcher) (func(name string) lifecycle.EventRecorder, error) {
	router, err := flux.NewRouter(mgr, flux.Options{
		Dispatcher: dispatcher,
		Tenancy:    opts.Tenancy,
		Log:        mgr.GetLogger().WithName("flux-notifications"),
	})
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(router); err != nil {
		return nil, err
	}
	return func(name string) lifecycle.EventRecorder {
		return flux.NewRecorder(lifecycle.Bounded(mgr.GetEventRecorder(name)), name, mgr.GetScheme(), router)
	}, nil
}

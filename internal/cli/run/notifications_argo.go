package run

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/source"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/notify/argo"
	"github.com/tether-gitops/tether/internal/shard"
)

// setupArgoNotifications adds Argo CD's notifications (argocd-notifications-cm
// triggers, templates and services; subscriptions by annotation) to mgr.
// With --shards auto only the replica that owns an app notifies for it.
func setupArgoNotifications(mgr ctrl.Manager, opts *Options, dispatcher *notify.Dispatcher, _ *metrics.Recorder) error {
	counters := metrics.NewNotifications()
	if err := counters.Register(crmetrics.Registry); err != nil {
		return fmt.Errorf("notification metrics: %w", err)
	}
	r := &argo.Reconciler{
		Client:        mgr.GetClient(),
		Settings:      &argo.Loader{Reader: mgr.GetAPIReader(), Namespace: opts.ArgoCDNamespace},
		Dispatcher:    dispatcher,
		Events:        lifecycle.Bounded(mgr.GetEventRecorder("argocd-notifications-controller")),
		Metrics:       counters,
		Namespace:     opts.ArgoCDNamespace,
		AppNamespaces: opts.ApplicationNamespaces,
	}
	if m := opts.shard; m != nil {
		r.Owns = func(o client.Object) bool { return m.Owns(shard.KeyOf("Application", o)) }
		r.Sources = []source.Source{m.Requeue(mgr.GetCache(), &argov1.ApplicationList{})}
	}
	return r.SetupWithManager(mgr)
}

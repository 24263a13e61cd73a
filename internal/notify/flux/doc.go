// Package flux delivers Flux's notifications: the events that Tether's Flux
// controllers record (Kustomization, HelmRelease and the sources) are
// turned into Flux events (severity info or error, the object's revision in
// the metadata) and routed to the Alerts that select them, then sent to
// each Alert's Provider (generic webhooks, with or without an HMAC
// signature, chat services and Git forges' commit statuses) through the
// shared notification dispatcher, so that no reconcile ever waits for a
// notification.
//
// Wiring, as `tether run` does it:
//
//	router, err := flux.NewRouter(mgr, flux.Options{Dispatcher: dispatcher, Tenancy: policy})
//	mgr.Add(router)
//	rec := flux.NewRecorder(lifecycle.Bounded(mgr.GetEventRecorder(name)), name, mgr.GetScheme(), router)
//	rec.Eventf(kustomization, nil, corev1.EventTypeWarning, "BuildFailed", "Reconcile", "%s", msg)
//
// The Kubernetes Event is recorded as before; the Flux event is handed to
// the router without blocking. The router matches Alerts (eventSources by
// kind, name glob, matchLabels and namespace; eventSeverity;
// inclusionList and exclusionList; suspend), adds the Alert's summary and
// eventMetadata as Flux does, and enqueues one notification per Alert on
// the Provider's queue. A notification reads the Provider's Secrets when
// it is sent (so a fixed Secret is used by the next retry), and a delivery
// that fails for good becomes a Warning event on the Alert, its message
// masked of every Secret value.
package flux

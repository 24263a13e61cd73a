// Package argo is Argo CD's notifications (what argocd-notifications
// does) on Tether's delivery core, internal/notify.
//
// Settings come from the ConfigMap argocd-notifications-cm and the Secret
// argocd-notifications-secret in Argo CD's namespace, as upstream writes
// them: trigger.<name> (conditions in expr-lang over the Application as
// unstructured JSON, with oncePer), template.<name> (text/template with
// sprig: message, email, slack, teams, webhook.<service>, github),
// service.<type>[.<name>] (slack, webhook, email, teams, github; $key
// references resolved from the Secret), defaultTriggers[.<service>],
// subscriptions and context. Argo CD's catalog of triggers and templates
// (on-sync-succeeded / app-sync-succeeded, ...) is built in; the
// ConfigMap overrides it name by name.
//
// Apps subscribe with annotations on themselves or their AppProject:
//
//	notifications.argoproj.io/subscribe.on-sync-succeeded.slack: my-channel;other-channel
//	notifications.argoproj.io/subscribe.slack: my-channel   # the default triggers
//
// The Reconciler evaluates an app's subscribed triggers at each change,
// records what it is about to send in the app's
// notified.notifications.argoproj.io annotation (upstream's format, so
// nothing is sent twice across restarts, replicas or a move from Argo
// CD) and hands the deliveries to a notify.Dispatcher:
//
//	r := &argo.Reconciler{Client: mgr.GetClient(), Namespace: "argocd",
//		Settings:   &argo.Loader{Reader: mgr.GetAPIReader(), Namespace: "argocd"},
//		Dispatcher: dispatcher, Events: recorder, Metrics: counters}
//	err := r.SetupWithManager(mgr)
//
// The pure parts are usable alone:
//
//	cfg := argo.Parse(configMap.Data, secret.Data)
//	dests, _ := cfg.Destinations(app.Labels, app.Annotations, project.Annotations)
//	ev := cfg.Evaluate(cfg.Env(appJSON), dests, argo.ParseState(notified), time.Now())
package argo

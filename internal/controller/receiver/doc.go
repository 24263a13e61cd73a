// Package receiver reconciles Flux Receiver objects (every served version;
// the controller reads and writes them as notification.toolkit.fluxcd.io/v1,
// which shares one schema with v1beta2 and v1beta1).
//
// A reconcile reads the token of spec.secretRef (key "token"), computes
// the webhook path exactly as Flux's notification-controller does,
//
//	/hook/ + hex(sha256(token + name + namespace))
//
// and records it in status.webhookPath (and in status.url, where v1beta1
// and v1beta2 clients read it), with Ready=True "Receiver initialized for
// path: <path>". A missing Secret or key sets Ready=False (TokenNotFound)
// and is retried; a type the server cannot verify (see Supported) or a
// generic-oidc Receiver sets Ready=False (ValidationFailed) and Stalled.
//
// The requests themselves are served by the API server
// (internal/server/webhook), which finds a Receiver by its path through
// the cache index that IndexWebhookPath registers:
//
//	if err := receiver.IndexWebhookPath(ctx, mgr.GetFieldIndexer()); err != nil { ... }
//	r := &receiver.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}
//	err := r.SetupWithManager(mgr)
//
// # Token rotation
//
// Secrets are not watched (Tether caches no Secret): a new token gives a
// new path at the Receiver's next reconcile (spec.interval, 10 minutes by
// default) or at once with `flux reconcile receiver` (the
// reconcile.fluxcd.io/requestedAt annotation). The old path stops working
// at once: the server checks every request's path against the current
// token.
package receiver

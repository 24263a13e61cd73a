package run

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/receiver"
	"github.com/tether-gitops/tether/internal/server/settings"
	"github.com/tether-gitops/tether/internal/server/webhook"
	"github.com/tether-gitops/tether/internal/urlrewrite"
)

// webhookHandlers returns the handlers of Git providers' push events
// (POST /api/webhook: Argo CD's, refreshing Applications and
// GitRepositories) and of Flux Receivers (/hook/...). It registers the
// cache index that finds a Receiver by its path, so it runs before mgr
// starts.
func webhookHandlers(mgr ctrl.Manager, opts *Options, store *settings.Store, logger logr.Logger) (push, receivers http.Handler, err error) {
	// --url-rewrite's static rules: a push reported by a mirror matches
	// the apps whose URL is rewritten to it.
	rules, err := urlrewrite.Parse(opts.URLRewrites)
	if err != nil {
		return nil, nil, err
	}
	push, err = webhook.NewHandler(webhook.Options{
		Client: mgr.GetClient(), Settings: store, Rewrite: rules.Rewrite,
		Namespace: opts.ArgoCDNamespace, AppNamespaces: opts.ApplicationNamespaces,
		Logger: logger,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := receiver.IndexWebhookPath(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, nil, err
	}
	receivers, err = webhook.NewReceiverHandler(webhook.ReceiverOptions{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Logger: logger.WithName("receiver"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("receiver handler: %w", err)
	}
	return push, receivers, nil
}

// setupReceivers adds the Flux Receiver controller (status.webhookPath,
// Ready) to mgr.
func setupReceivers(mgr ctrl.Manager, opts *Options) error {
	r := &receiver.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Shard: opts.shard}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("receiver controller: %w", err)
	}
	return nil
}

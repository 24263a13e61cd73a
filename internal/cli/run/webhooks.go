package run

import (
	"net/http"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/server/settings"
)

// webhookHandlers returns the handlers of Git providers' push events
// (POST /api/webhook) and of Flux Receivers (/hook/...); nil for none.
// Being built (issue 13): none yet.
func webhookHandlers(ctrl.Manager, *Options, *settings.Store, logr.Logger) (webhook, receivers http.Handler, err error) {
	return nil, nil, nil
}

// setupReceivers adds the Flux Receiver controller (status.webhookPath,
// Ready) to mgr. Being built (issue 13): none yet.
func setupReceivers(ctrl.Manager, *Options) error { return nil }

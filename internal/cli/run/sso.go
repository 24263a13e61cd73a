package run

import (
	"net/http"

	"github.com/go-logr/logr"

	"github.com/tether-gitops/tether/internal/server/session"
	"github.com/tether-gitops/tether/internal/server/settings"
)

// ssoProvider returns the verifier of SSO tokens and the handler of
// /auth/ (login and callback) for argocd-cm oidc.config; nil for none.
// Being built (issue 13): none yet.
func ssoProvider(*Options, *settings.Store, logr.Logger) (session.External, http.Handler, error) {
	return nil, nil, nil
}

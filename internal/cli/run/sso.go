package run

import (
	"net/http"

	"github.com/go-logr/logr"

	"github.com/tether-gitops/tether/internal/server/session"
	"github.com/tether-gitops/tether/internal/server/settings"
	"github.com/tether-gitops/tether/internal/server/sso"
)

// ssoProvider returns the verifier of SSO tokens and the handler of
// /auth/ (login and callback) for argocd-cm oidc.config. Both are always
// there: the configuration is read when used, so SSO starts working when
// oidc.config is written, without a restart.
func ssoProvider(_ *Options, store *settings.Store, logger logr.Logger) (session.External, http.Handler, error) {
	rp := sso.New(store, sso.Options{Logger: logger})
	return rp, rp, nil
}

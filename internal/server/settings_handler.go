package server

import (
	"net/http"

	"github.com/tether-gitops/tether/internal/server/sso"
)

// publicSettings is the part of Argo CD's GET /api/v1/settings that
// Tether answers: what a client needs before it logs in.
type publicSettings struct {
	// URL is argocd-cm url, the server's external URL.
	URL string `json:"url,omitempty"`
	// OIDCConfig is set when argocd-cm oidc.config configures SSO.
	OIDCConfig *publicOIDCConfig `json:"oidcConfig,omitempty"`
	// ControllerNamespace is the control-plane namespace: RBAC names its
	// Applications "<project>/<name>", others "<project>/<namespace>/<name>".
	ControllerNamespace string `json:"controllerNamespace,omitempty"`
}

// publicOIDCConfig is oidc.config as Argo CD's settings service shows it:
// never the client secret, the allowed audiences or the root CA.
type publicOIDCConfig struct {
	Name                     string                `json:"name,omitempty"`
	Issuer                   string                `json:"issuer"`
	ClientID                 string                `json:"clientID"`
	CLIClientID              string                `json:"cliClientID,omitempty"`
	Scopes                   []string              `json:"scopes,omitempty"`
	IDTokenClaims            map[string]*sso.Claim `json:"idTokenClaims,omitempty"`
	EnablePKCEAuthentication bool                  `json:"enablePKCEAuthentication,omitempty"`
}

// getSettings answers GET /api/v1/settings without a token, as Argo CD
// does: `login --sso` reads the provider, client and scopes from it.
func (s *Server) getSettings(w http.ResponseWriter, _ *http.Request) {
	out := publicSettingsOf(s.deps.Settings.ConfigMap(), s.deps.Settings.Secret())
	out.ControllerNamespace = s.cfg.Namespace
	writeJSON(w, http.StatusOK, out)
}

// publicSettingsOf reads the public settings from argocd-cm (cm) and
// argocd-secret (secret). An oidc.config that does not parse is left out,
// so that a client is told SSO is not configured rather than given half
// of it; the relying party logs why when it reads the same config (not
// here: anyone may call this endpoint, as often as they like).
func publicSettingsOf(cm map[string]string, secret map[string][]byte) publicSettings {
	out := publicSettings{URL: cm[sso.KeyURL]}
	c, err := sso.ParseConfig(cm, secret)
	if err != nil || c == nil {
		return out
	}
	out.URL = c.URL
	out.OIDCConfig = &publicOIDCConfig{Name: c.Name, Issuer: c.Issuer, ClientID: c.ClientID, CLIClientID: c.CLIClientID,
		Scopes: c.RequestedScopes, IDTokenClaims: c.RequestedIDTokenClaims, EnablePKCEAuthentication: c.EnablePKCEAuthentication}
	return out
}

package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tether-gitops/tether/internal/testenv/browser"
	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

// TestUISingleSignOn: with an OpenID provider in argocd-cm, the login page
// shows its button; clicking it goes through the provider's own login form
// and back to Tether, logged in as the provider's user (Chromium, the
// provider's own TLS and the API server's callback, as a person does it).
func TestUISingleSignOn(t *testing.T) {
	c := kubeClient(t)
	apiFixture(t, c)
	tether := startTether(t)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	op := oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{{ID: "tether", Secret: ssoClientSecret, RedirectURIs: []string{base + "/auth/callback"}}},
		Users:   []oidcserver.User{{Subject: "alice", Password: "alice-password", Email: "alice@example.com", Groups: []string{"staff"}}},
	})
	ssoFixture(t, c, op, base)
	issuer, err := url.Parse(op.Issuer)
	if err != nil {
		t.Fatal(err)
	}

	b := browser.New(t, base)
	b.Open("/login?return=/sources")
	// The settings are watched: the button appears without a restart.
	b.WaitFor("the SSO button", browser.Contains(`a.button[href^="/auth/login"]`, "Log in via E2E"), 60*time.Second)
	b.Screenshots("login-sso")
	b.Click(`a.button[href^="/auth/login"]`)
	b.WaitFor("the provider's login form", `location.host === `+browser.JSString(issuer.Host)+` && document.querySelector('input[name=username]')`, 30*time.Second)
	b.Run("log in at the provider as alice",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "alice-password"),
		chromedp.Submit(chromedp.CSS(`form`)))
	b.WaitFor("back in Tether on the page asked for, logged in as alice",
		`location.origin === `+browser.JSString(base)+` && location.pathname === "/sources" && `+browser.Contains("header", "alice"), 30*time.Second)
	if code := b.FetchStatus("GET", "/api/v1/session/userinfo", ""); code != 200 {
		t.Errorf("userinfo with the SSO session cookie: %d", code)
	}
	b.Screenshots("sso-logged-in")
}

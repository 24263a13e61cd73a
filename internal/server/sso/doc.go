// Package sso is Argo CD's OIDC single sign-on for the API server: Tether
// is a client (relying party) of the OpenID Provider that argocd-cm
// oidc.config names, logs browsers in through it and accepts its ID tokens
// as Argo CD does.
//
// Configuration is Argo CD's, read from the watched settings and re-read
// when they change:
//
//	# argocd-cm
//	url: https://tether.example.com          # the redirect URI is <url>/auth/callback
//	oidc.config: |
//	  name: Okta
//	  issuer: https://example.okta.com
//	  clientID: tether
//	  clientSecret: $oidc.okta.clientSecret  # argocd-secret key ("$argocd-secret:key" too)
//	  requestedScopes: [openid, profile, email, groups]   # the default
//	  requestedIDTokenClaims: {groups: {essential: true}}
//	  allowedAudiences: [tether, tether-cli] # default: clientID (and cliClientID)
//	  enablePKCEAuthentication: true
//	  rootCA: |                              # trust only this CA for the provider
//	    -----BEGIN CERTIFICATE-----
//	    ...
//	oidc.tls.insecure.skip.verify: "false"
//
// A RelyingParty is both halves of the integration:
//
//	rp := sso.New(store, sso.Options{Logger: logger})
//	sessions, _ := session.New(store, projects, session.Options{External: rp})
//	mux.Handle("/auth/", rp) // GET /auth/login?return_url=..., GET /auth/callback
//
// The login sends the browser to the provider with a random state and
// nonce (and a PKCE challenge when enabled), kept in a signed, HttpOnly,
// five-minute cookie (argocd.oauthstate); the callback refuses a missing
// or mismatched state, exchanges the code, verifies the ID token and sets
// the argocd.token cookie to it, then returns to return_url only when
// that leads to this server. The API accepts the same ID token as
// "Authorization: Bearer".
//
// Verify refuses a token unless its signature checks against the
// provider's published keys, its issuer is the configured one, it has not
// expired, and its audience is one of allowedAudiences
// (CVE-2022-29165, GHSA-q9hr-j4rf-8fjc). The identity it returns has the
// sub claim as its subject, the groups claim as its groups, and every
// claim for the RBAC scopes of argocd-rbac-cm.
//
// The provider is discovered lazily with a timeout, once for all waiting
// requests, and again when issuer, rootCA or the skip-verify key change;
// a provider that cannot be reached fails requests with an error naming
// it (remembered for five seconds), never a panic. Tokens and the client
// secret are never logged.
package sso

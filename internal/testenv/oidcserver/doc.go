// Package oidcserver runs a real OpenID Provider on loopback for tests:
// github.com/zitadel/oidc's certified op package over HTTPS (a certificate
// of its own, handed out as PEM for the relying party's rootCA), with an
// in-memory storage, a login form, and users whose ID tokens carry the
// groups claim a test chooses. It serves discovery, JWKS, the
// authorization-code flow (with PKCE when the client sends it), the token
// endpoint and userinfo, exactly as a production provider does.
//
// A test registers its clients and users and points the code under test at
// Server.Issuer:
//
//	op := oidcserver.New(t, oidcserver.Options{
//		Clients: []oidcserver.Client{{ID: "tether", Secret: "s3cret",
//			RedirectURIs: []string{tetherURL + "/auth/callback"}}},
//		Users: []oidcserver.User{{Subject: "alice", Password: "alice-pw",
//			Email: "alice@example.com", Groups: []string{"production-app-developers"}}},
//	})
//	// oidc.config: {issuer: op.Issuer, clientID: tether, rootCA: op.CACert, ...}
//
// A CLI that logs in through the browser is a Client with Native set and
// no Secret: a public client whose redirect URI is on localhost
// (http://localhost:PORT/auth/callback) and which must send PKCE.
//
// A browser's login goes: the relying party redirects to the authorization
// endpoint, which redirects to the login form at /login?authRequestID=ID;
// the form posts username and password back to that same URL, and a
// correct pair redirects through /authorize/callback to the client's
// redirect URI with a code. HTTPClient trusts the server's certificate.
//
// For CLI-like tests, IDToken runs that whole flow programmatically for a
// client and a user and returns the ID token the provider issued; Sign and
// SignWithForeignKey make tokens with arbitrary claims, signed with the
// provider's key or with a key it never published (under the same key ID).
// New registers Close with t.Cleanup.
package oidcserver

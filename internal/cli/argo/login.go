package argo

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"golang.org/x/term"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// NewLoginCmd returns `login SERVER`: with a local account's name and
// password, or with --sso through the browser and the OpenID provider the
// server's argocd-cm oidc.config names, as `argocd login --sso` does.
func NewLoginCmd(conn *connect.Options) *cobra.Command {
	var username, password, name string
	var sso, insecure, plaintext, grpcWeb, skipTLS bool
	flow := ssoFlow{port: defaultSSOPort, launchBrowser: true, wait: ssoWait}
	cmd := &cobra.Command{
		Use:   "login SERVER",
		Short: "Log in to a Tether (or Argo CD compatible) API server and save the context",
		Example: `  # Log in with a local account
  tether login tether.example.com --username admin

  # Log in through the SSO provider of argocd-cm oidc.config, in the browser
  tether login tether.example.com --sso`,
		Args: cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		server := args[0]
		opts := apiclient.Options{Server: server, Insecure: insecure || skipTLS, Plaintext: plaintext, Timeout: conn.RequestTimeout}
		c, err := apiclient.New(opts)
		if err != nil {
			return err
		}
		var got loginResult
		if sso {
			flow.stderr = cmd.ErrOrStderr()
			if got, err = flow.login(cmd.Context(), c); err == nil {
				err = serverAccepts(cmd.Context(), opts, got.token)
			}
		} else {
			got, err = passwordLogin(cmd, c, username, password)
		}
		if err != nil {
			return fmt.Errorf("login to %s: %w", server, err)
		}
		if name == "" {
			name = server
		}
		cfg, err := connect.ReadConfig(conn.ConfigPath)
		if err != nil {
			return err
		}
		cfg.Upsert(name, connect.Server{Server: server, Insecure: insecure || skipTLS, PlainText: plaintext}, got.token)
		for i := range cfg.Users {
			if cfg.Users[i].Name == name {
				cfg.Users[i].RefreshToken = got.refreshToken
			}
		}
		if err := cfg.Write(conn.ConfigPath); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "'%s' logged in successfully\nContext '%s' updated\n", got.who, name)
		return nil
	}
	fs := cmd.Flags()
	fs.StringVar(&username, "username", "", "user name (asked when not given)")
	fs.StringVar(&password, "password", "", "password (asked when not given)")
	fs.StringVar(&name, "name", "", "name of the context (the server's address by default)")
	fs.BoolVar(&sso, "sso", false, "log in through the browser with the SSO provider of the server's argocd-cm oidc.config")
	fs.IntVar(&flow.port, "sso-port", flow.port, "local port the provider sends the browser back to (http://localhost:PORT/auth/callback, registered with the provider)")
	fs.BoolVar(&flow.launchBrowser, "sso-launch-browser", flow.launchBrowser, "open the login page in the system's browser (the URL is printed either way)")
	fs.BoolVar(&insecure, "insecure", false, "accept any server certificate (the SSO provider's is still checked against the system's CAs)")
	fs.BoolVar(&skipTLS, "skip-test-tls", false, "same as --insecure")
	fs.BoolVar(&plaintext, "plaintext", false, "speak HTTP instead of HTTPS")
	fs.BoolVar(&grpcWeb, "grpc-web", false, "accepted for argocd scripts; Tether always speaks REST")
	fs.StringVar(&conn.ConfigPath, "config", conn.ConfigPath, "file of login contexts")
	return cmd
}

// loginResult is what a login yields: the token to store, the refresh
// token when the provider gave one, and whom to greet.
type loginResult struct {
	token, refreshToken, who string
}

// passwordLogin logs a local account in, asking for what is not given.
func passwordLogin(cmd *cobra.Command, c *apiclient.Client, username, password string) (loginResult, error) {
	var err error
	if username == "" {
		if username, err = prompt(cmd, "Username: ", false); err != nil {
			return loginResult{}, err
		}
	}
	if password == "" {
		if password, err = prompt(cmd, "Password: ", true); err != nil {
			return loginResult{}, err
		}
	}
	token, err := c.Login(cmd.Context(), username, password)
	return loginResult{token: token, who: username}, err
}

// prompt asks the user for a value; a secret is read without echo.
func prompt(cmd *cobra.Command, question string, secret bool) (string, error) {
	if !stdinIsTerminal() {
		return "", fmt.Errorf("%s not given and standard input is not a terminal: pass --username and --password", strings.TrimSuffix(question, ": "))
	}
	fmt.Fprint(cmd.ErrOrStderr(), question)
	if secret {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	return strings.TrimSpace(line), err
}

// NewLogoutCmd returns `logout CONTEXT`: the context and its token are
// forgotten.
func NewLogoutCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logout [CONTEXT]",
		Short: "Forget a login context and its token (the current one by default)",
		Args:  cobra.MaximumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := connect.ReadConfig(conn.ConfigPath)
		if err != nil {
			return err
		}
		name := cfg.CurrentContext
		if len(args) == 1 {
			name = args[0]
		}
		if name == "" || !cfg.RemoveContext(name) {
			return fmt.Errorf("no context %q in %s", name, conn.ConfigPath)
		}
		if err := cfg.Write(conn.ConfigPath); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Logged out from '%s'\n", name)
		return nil
	}
	cmd.Flags().StringVar(&conn.ConfigPath, "config", conn.ConfigPath, "file of login contexts")
	return cmd
}

// NewContextCmd returns `context [NAME]`: list contexts, or make NAME the
// current one.
func NewContextCmd(conn *connect.Options) *cobra.Command {
	var del bool
	cmd := &cobra.Command{
		Use:     "context [NAME]",
		Aliases: []string{"ctx"},
		Short:   "List login contexts or switch to one",
		Args:    cobra.MaximumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := connect.ReadConfig(conn.ConfigPath)
		if err != nil {
			return err
		}
		if len(args) == 0 {
			rows := make([][]string, 0, len(cfg.Contexts))
			for _, c := range cfg.Contexts {
				mark := ""
				if c.Name == cfg.CurrentContext {
					mark = "*"
				}
				rows = append(rows, []string{mark, c.Name, c.Server})
			}
			return output.Table(cmd.OutOrStdout(), []string{"CURRENT", "NAME", "SERVER"}, rows)
		}
		name := args[0]
		if del {
			if !cfg.RemoveContext(name) {
				return fmt.Errorf("no context %q in %s", name, conn.ConfigPath)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Context '%s' deleted\n", name)
			return cfg.Write(conn.ConfigPath)
		}
		if _, _, _, ok := cfg.Lookup(name); !ok {
			return fmt.Errorf("no context %q in %s", name, conn.ConfigPath)
		}
		cfg.CurrentContext = name
		fmt.Fprintf(cmd.OutOrStdout(), "Switched to context '%s'\n", name)
		return cfg.Write(conn.ConfigPath)
	}
	cmd.Flags().BoolVar(&del, "delete", false, "delete the context")
	cmd.Flags().StringVar(&conn.ConfigPath, "config", conn.ConfigPath, "file of login contexts")
	return cmd
}

// Bounds of a browser (SSO) login.
const (
	// defaultSSOPort is Argo CD's local port for the provider's redirect.
	defaultSSOPort = 8085
	// ssoCallbackPath is the local path the provider redirects to.
	ssoCallbackPath = "/auth/callback"
	// ssoWait bounds how long the login waits for the browser.
	ssoWait = 5 * time.Minute
	// ssoCallTimeout bounds each call to the provider.
	ssoCallTimeout = 30 * time.Second
)

// ssoFlow is one browser login through the server's OpenID provider: the
// authorization-code flow with PKCE (S256), a random state and nonce, and
// a local callback on localhost that serves one request.
type ssoFlow struct {
	// port is the callback's port (--sso-port); 0 picks a free one.
	port int
	// launchBrowser opens the login page with xdg-open or open.
	launchBrowser bool
	// wait bounds the wait for the browser.
	wait time.Duration
	// stderr gets the login URL and progress; never a token.
	stderr io.Writer
	// providerClient talks to the provider; nil: the system's CAs, as a
	// browser trusts it. The server's --insecure does not reach here.
	providerClient *http.Client
	// open opens url in a browser; nil: openBrowser.
	open func(url string) error
}

// oidcSettings is oidcConfig of GET /api/v1/settings (Argo CD's shape).
type oidcSettings struct {
	Name          string          `json:"name"`
	Issuer        string          `json:"issuer"`
	ClientID      string          `json:"clientID"`
	CLIClientID   string          `json:"cliClientID"`
	Scopes        []string        `json:"scopes"`
	IDTokenClaims json.RawMessage `json:"idTokenClaims"`
}

// cliClientID is the client the CLI logs in as: cliClientID when the
// server names one, else clientID, as in Argo CD.
func (o *oidcSettings) cliClientID() string {
	if o.CLIClientID != "" {
		return o.CLIClientID
	}
	return o.ClientID
}

// scopes are the scopes to ask for: the server's, or Argo CD's default,
// always with openid.
func (o *oidcSettings) scopes() []string {
	scopes := slices.Clone(o.Scopes)
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email", "groups"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return scopes
}

// fetchOIDCSettings reads the server's public SSO settings.
func fetchOIDCSettings(ctx context.Context, c *apiclient.Client) (*oidcSettings, error) {
	var set struct {
		OIDCConfig *oidcSettings `json:"oidcConfig"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/settings", nil, &set); err != nil {
		return nil, fmt.Errorf("read the server's SSO settings (GET /api/v1/settings): %w", err)
	}
	if set.OIDCConfig == nil || set.OIDCConfig.Issuer == "" || set.OIDCConfig.cliClientID() == "" {
		return nil, errors.New("the server has no SSO configured: set oidc.config in its argocd-cm, or log in with --username and --password")
	}
	return set.OIDCConfig, nil
}

// authRequest is one authorization request and the secrets that go with
// it: state and nonce come back from the provider, the PKCE verifier
// goes to the token endpoint only.
type authRequest struct {
	url, state, nonce, verifier string
}

// newAuthRequest makes the URL the browser is sent to.
func newAuthRequest(conf *oauth2.Config, set *oidcSettings) (authRequest, error) {
	r := authRequest{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(r.verifier), oidc.Nonce(r.nonce)}
	if len(set.IDTokenClaims) > 0 && string(set.IDTokenClaims) != "null" {
		claims, err := json.Marshal(map[string]json.RawMessage{"id_token": set.IDTokenClaims})
		if err != nil {
			return r, fmt.Errorf("oidcConfig idTokenClaims: %w", err)
		}
		opts = append(opts, oauth2.SetAuthURLParam("claims", string(claims)))
	}
	r.url = conf.AuthCodeURL(r.state, opts...)
	return r, nil
}

// login runs the browser login against the provider the server names.
func (f *ssoFlow) login(ctx context.Context, api *apiclient.Client) (loginResult, error) {
	set, err := fetchOIDCSettings(ctx, api)
	if err != nil {
		return loginResult{}, err
	}
	client := f.providerClient
	if client == nil {
		client = &http.Client{Timeout: ssoCallTimeout}
	}
	ctx = oidc.ClientContext(ctx, client)
	discoverCtx, cancel := context.WithTimeout(ctx, ssoCallTimeout)
	provider, err := oidc.NewProvider(discoverCtx, set.Issuer)
	cancel()
	if err != nil {
		return loginResult{}, fmt.Errorf("discover the SSO provider %s: %w (its certificate must be trusted by this machine: SSL_CERT_FILE adds a CA)", set.Issuer, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("localhost", strconv.Itoa(f.port)))
	if err != nil {
		return loginResult{}, fmt.Errorf("listen for the SSO callback: %w (pass another --sso-port, registered with the provider)", err)
	}
	defer ln.Close()
	clientID := set.cliClientID()
	conf := &oauth2.Config{ClientID: clientID, Endpoint: provider.Endpoint(), Scopes: set.scopes(),
		RedirectURL: fmt.Sprintf("http://localhost:%d%s", ln.Addr().(*net.TCPAddr).Port, ssoCallbackPath)}
	req, err := newAuthRequest(conf, set)
	if err != nil {
		return loginResult{}, err
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	cb := newCallback(req.state, func(code string) (loginResult, error) {
		return exchangeCode(ctx, conf, verifier, req, code)
	})
	f.sendBrowser(req.url, set.Name)
	return cb.serve(ctx, ln, f.wait)
}

// sendBrowser prints the login URL and opens it when asked to.
func (f *ssoFlow) sendBrowser(url, provider string) {
	if provider == "" {
		provider = "SSO"
	}
	fmt.Fprintf(f.stderr, "To log in with %s, open this URL in a browser:\n\n  %s\n\n", provider, url)
	if !f.launchBrowser {
		return
	}
	open := f.open
	if open == nil {
		open = openBrowser
	}
	if err := open(url); err != nil {
		fmt.Fprintf(f.stderr, "Could not open a browser (%v): open the URL above yourself.\n", err)
	}
}

// openBrowser starts the system's URL opener without waiting for it.
func openBrowser(url string) error {
	for _, opener := range []string{"xdg-open", "open"} {
		path, err := exec.LookPath(opener)
		if err != nil {
			continue
		}
		cmd := exec.Command(path, url)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", opener, err)
		}
		go func() { _ = cmd.Wait() }()
		return nil
	}
	return errors.New("neither xdg-open nor open is installed")
}

// exchangeCode trades the code for tokens and checks the ID token:
// signature (the provider's keys), issuer, audience (the client logged
// in as), expiry, and the nonce of this login.
func exchangeCode(ctx context.Context, conf *oauth2.Config, verifier *oidc.IDTokenVerifier, req authRequest, code string) (loginResult, error) {
	ctx, cancel := context.WithTimeout(ctx, ssoCallTimeout)
	defer cancel()
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(req.verifier))
	if err != nil {
		return loginResult{}, fmt.Errorf("exchange the code at the provider: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return loginResult{}, errors.New("the provider's token response has no id_token (is openid among the scopes?)")
	}
	id, err := verifier.Verify(ctx, raw)
	if err != nil {
		return loginResult{}, fmt.Errorf("the provider's ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(req.nonce)) != 1 {
		return loginResult{}, errors.New("the provider's ID token is not for this login (nonce mismatch)")
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := id.Claims(&claims); err != nil {
		return loginResult{}, fmt.Errorf("the provider's ID token claims: %w", err)
	}
	return loginResult{token: raw, refreshToken: tok.RefreshToken, who: displayName(id.Subject, claims.Email, claims.Name)}, nil
}

// displayName is whom a login greets: the email, else the name, else
// the subject, as argocd does.
func displayName(subject, email, name string) string {
	switch {
	case email != "":
		return email
	case name != "":
		return name
	}
	return subject
}

// callback is the local end of the redirect: it takes one request and
// reports its outcome; any later request is turned away.
type callback struct {
	state    string
	exchange func(code string) (loginResult, error)
	taken    atomic.Bool
	done     chan callbackOutcome
}

type callbackOutcome struct {
	result loginResult
	err    error
}

func newCallback(state string, exchange func(code string) (loginResult, error)) *callback {
	return &callback{state: state, exchange: exchange, done: make(chan callbackOutcome, 1)}
}

// ServeHTTP finishes the login from the provider's redirect.
func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != ssoCallbackPath {
		http.NotFound(w, r)
		return
	}
	if !cb.taken.CompareAndSwap(false, true) {
		http.Error(w, "This login is already over: run the login command again.", http.StatusConflict)
		return
	}
	res, status, err := cb.finish(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err != nil {
		fmt.Fprintf(w, "<!doctype html><title>Login failed</title><h1>Login failed</h1><p>%s</p><p>Run the login command again.</p>\n", html.EscapeString(err.Error()))
	} else {
		fmt.Fprint(w, "<!doctype html><title>Logged in</title><h1>Logged in</h1><p>You can close this page and return to the terminal.</p>\n")
	}
	cb.done <- callbackOutcome{result: res, err: err}
}

// finish checks the redirect's state before anything else, then the
// provider's error, then exchanges the code.
func (cb *callback) finish(r *http.Request) (loginResult, int, error) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(cb.state)) != 1 {
		return loginResult{}, http.StatusBadRequest, errors.New("the callback's state does not match this login's (a stale page, or a request this login did not start)")
	}
	if e := q.Get("error"); e != "" {
		return loginResult{}, http.StatusBadRequest, fmt.Errorf("the provider refused the login: %s %s", e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return loginResult{}, http.StatusBadRequest, errors.New("the callback has no code")
	}
	res, err := cb.exchange(code)
	if err != nil {
		return loginResult{}, http.StatusBadGateway, err
	}
	return res, http.StatusOK, nil
}

// serve answers on ln until one callback came, wait passed or ctx ended.
func (cb *callback) serve(ctx context.Context, ln net.Listener, wait time.Duration) (loginResult, error) {
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * ssoCallTimeout}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case out := <-cb.done:
		return out.result, out.err
	case <-timer.C:
		return loginResult{}, fmt.Errorf("no login in the browser within %s", wait)
	case <-ctx.Done():
		return loginResult{}, fmt.Errorf("waiting for the browser: %w", ctx.Err())
	}
}

// serverAccepts checks that the server takes token for a login, so that
// a provider token the server refuses (say, its client is not among
// oidc.config's allowedAudiences) is reported now and not saved.
func serverAccepts(ctx context.Context, opts apiclient.Options, token string) error {
	opts.Token = token
	c, err := apiclient.New(opts)
	if err != nil {
		return err
	}
	info, err := c.UserInfo(ctx)
	if err != nil {
		return fmt.Errorf("check the SSO token with the server: %w", err)
	}
	if !info.LoggedIn {
		return errors.New("the server refuses the provider's ID token: its argocd-cm oidc.config must list the CLI's client (cliClientID) among allowedAudiences")
	}
	return nil
}

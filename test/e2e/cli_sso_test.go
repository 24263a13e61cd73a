package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

// TestCLISSO logs in with `tether login --sso` as `argocd login --sso`
// does: the built binary reads the provider from GET /api/v1/settings
// (public, without the client secret), listens on --sso-port, and prints
// the provider's URL; a browser logs alice in at the provider, which
// sends it back to the CLI with a code; the CLI exchanges it (PKCE, as
// the public client cliClientID) and saves the ID token in its context.
// The API takes that token with alice's group rights (the seed's
// production role), and a callback whose state is not the login's ends
// the login without saving anything.
func TestCLISSO(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "03-argo-appproject-production.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: cli-sso-staging, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
`)
	placeholderApps(t, map[string]string{"cli-sso-prod-web": "production", "cli-sso-staging-web": "cli-sso-staging"})
	t.Cleanup(func() {
		for _, name := range []string{"cli-sso-prod-web", "cli-sso-staging-web"} {
			_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
		for _, name := range []string{"production", "cli-sso-staging"} {
			_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
	})

	tether := startTether(t)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimPrefix(base, "https://")
	loginPort, badStatePort := freeLocalPort(t), freeLocalPort(t)
	op := oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{
			{ID: "tether", Secret: ssoClientSecret, RedirectURIs: []string{base + "/auth/callback"}},
			// The CLI is a public native client: no secret, PKCE, a
			// callback on localhost.
			{ID: "tether-cli", Native: true, RedirectURIs: []string{
				fmt.Sprintf("http://localhost:%d/auth/callback", loginPort),
				fmt.Sprintf("http://localhost:%d/auth/callback", badStatePort)}},
		},
		Users: []oidcserver.User{
			{Subject: "alice", Password: "alice-password", Email: "alice@example.com", Groups: []string{"production-app-developers", "staff"}},
		},
	})
	cliSSOFixture(t, c, op, base)
	api := newAPIClient(t, base)
	eventually(t, 30*time.Second, "GET /api/v1/settings shows the provider", func(context.Context) error {
		status, body, _ := api.do("GET", "/api/v1/settings", "", nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"issuer":"`+op.Issuer+`"`) ||
			!strings.Contains(string(body), `"cliClientID":"tether-cli"`) {
			return fmt.Errorf("%d %s", status, body)
		}
		if strings.Contains(string(body), ssoClientSecret) || strings.Contains(string(body), "BEGIN CERTIFICATE") {
			t.Fatalf("the public settings show the client secret or the root CA: %s", body)
		}
		return nil
	})

	cli := newCLI(t)
	// The CLI trusts the provider as a browser would: through the
	// machine's CAs, here the provider's own certificate.
	caFile := filepath.Join(t.TempDir(), "provider-ca.pem")
	if err := os.WriteFile(caFile, []byte(op.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.env = append(cli.env, "SSL_CERT_FILE="+caFile)

	// Alice logs in through the browser.
	login := startSSOLogin(t, cli, op.Issuer, "tether", "login", server, "--insecure", "--sso",
		"--sso-launch-browser=false", "--sso-port", fmt.Sprint(loginPort), "--name", "alice-sso")
	status, page := ssoBrowse(t, newBrowser(t), login.waitURL(t), "alice", "alice-password")
	if status != http.StatusOK || !strings.Contains(page, "Logged in") {
		t.Errorf("the CLI's callback page: %d %s", status, page)
	}
	res := login.wait(t)
	if res.code != 0 || !strings.Contains(res.stdout, "'alice@example.com' logged in successfully") ||
		!strings.Contains(res.stdout, "Context 'alice-sso' updated") {
		t.Fatalf("login --sso exited %d: %s%s", res.code, res.stdout, res.stderr)
	}
	cfg, err := connect.ReadConfig(filepath.Join(cli.home, ".config", "tether", "config"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, user, ok := cfg.Lookup("")
	if !ok || cfg.CurrentContext != "alice-sso" || user.AuthToken == "" {
		t.Fatalf("the saved context: current %q, found %v, token saved %v", cfg.CurrentContext, ok, user.AuthToken != "")
	}
	if strings.Contains(res.stdout+res.stderr, user.AuthToken) || strings.Contains(tether.Logs.String(), user.AuthToken) {
		t.Error("the CLI printed, or the server logged, the ID token")
	}
	if _, body, _ := api.do("GET", "/api/v1/session/userinfo", user.AuthToken, nil); !strings.Contains(string(body), `"username":"alice"`) ||
		!strings.Contains(string(body), `"iss":"`+op.Issuer+`"`) {
		t.Errorf("the saved token is not alice's provider token: %s", body)
	}

	// The saved context has alice's rights: production's app, no other.
	out := cli.ok("tether", "app", "list")
	if !strings.Contains(out, "argocd/cli-sso-prod-web") || strings.Contains(out, "cli-sso-staging-web") {
		t.Errorf("alice's app list: %s", out)
	}
	if res := cli.run("tether", "app", "get", "cli-sso-staging-web"); res.code == 0 {
		t.Errorf("alice gets an app of another project: %s", res.stdout)
	}

	// A callback with another state ends the login: refused, nothing saved.
	bad := startSSOLogin(t, cli, op.Issuer, "tether", "login", server, "--insecure", "--sso",
		"--sso-launch-browser=false", "--sso-port", fmt.Sprint(badStatePort), "--name", "bad-state")
	loginURL, err := url.Parse(bad.waitURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if redirect := loginURL.Query().Get("redirect_uri"); redirect != fmt.Sprintf("http://localhost:%d/auth/callback", badStatePort) {
		t.Errorf("redirect_uri %q", redirect)
	}
	if loginURL.Query().Get("code_challenge_method") != "S256" || loginURL.Query().Get("client_id") != "tether-cli" {
		t.Errorf("the login URL asks for no PKCE or another client: %s", loginURL)
	}
	forged := fmt.Sprintf("http://localhost:%d/auth/callback?code=stolen&state=%s", badStatePort, url.QueryEscape("not-"+loginURL.Query().Get("state")))
	resp, err := newBrowser(t).Get(forged)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a callback with another state: %s, want 400", resp.Status)
	}
	res = bad.wait(t)
	if res.code == 0 || !strings.Contains(res.stderr, "state does not match") {
		t.Errorf("login after a callback with another state: exit %d, %s", res.code, res.stderr)
	}
	if out := cli.ok("tether", "context"); strings.Contains(out, "bad-state") || !strings.Contains(out, "alice-sso") {
		t.Errorf("contexts after the refused login: %s", out)
	}
}

// cliSSOFixture is ssoFixture with a CLI client: argocd-cm oidc.config
// names cliClientID tether-cli besides the server's confidential client.
func cliSSOFixture(t *testing.T, c client.Client, op *oidcserver.Server, base string) {
	ctx := context.Background()
	config := fmt.Sprintf("name: E2E\nissuer: %s\nclientID: tether\ncliClientID: tether-cli\nclientSecret: $oidc.e2e.clientSecret\nrootCA: |\n  %s\n",
		op.Issuer, strings.ReplaceAll(strings.TrimSpace(op.CACert), "\n", "\n  "))
	patches := []struct {
		obj        client.Object
		set, unset string
	}{
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: "argocd"}},
			mustJSON(t, map[string]any{"stringData": map[string]string{"oidc.e2e.clientSecret": ssoClientSecret}}),
			`{"data":{"oidc.e2e.clientSecret":null}}`},
		{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}},
			mustJSON(t, map[string]any{"data": map[string]string{"url": base, "oidc.config": config}}),
			`{"data":{"url":null,"oidc.config":null}}`},
	}
	for _, p := range patches {
		if err := c.Patch(ctx, p.obj, client.RawPatch("application/merge-patch+json", []byte(p.set))); err != nil {
			t.Fatalf("patch %s: %v", p.obj.GetName(), err)
		}
		t.Cleanup(func() {
			_ = c.Patch(ctx, p.obj, client.RawPatch("application/merge-patch+json", []byte(p.unset)))
		})
	}
}

// freeLocalPort is a port of localhost that was free a moment ago.
func freeLocalPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ssoLoginRun is a `login --sso` running in the background: the test
// reads the login URL from its standard error while it waits.
type ssoLoginRun struct {
	cmd      *exec.Cmd
	stdout   strings.Builder
	mu       sync.Mutex
	stderr   strings.Builder
	loginURL chan string
	drained  chan struct{}
}

// startSSOLogin starts name with args and watches its standard error
// for a URL of the provider at issuer.
func startSSOLogin(t *testing.T, c *cli, issuer, name string, args ...string) *ssoLoginRun {
	t.Helper()
	r := &ssoLoginRun{loginURL: make(chan string, 1), drained: make(chan struct{})}
	r.cmd = exec.Command(filepath.Join(c.dir, name), args...)
	r.cmd.Env = c.env
	r.cmd.Stdout = &r.stdout
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	go func() {
		defer close(r.drained)
		sent := false
		lines := bufio.NewScanner(stderr)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		for lines.Scan() {
			line := lines.Text()
			r.mu.Lock()
			r.stderr.WriteString(line + "\n")
			r.mu.Unlock()
			if u := strings.TrimSpace(line); !sent && strings.HasPrefix(u, issuer+"/authorize?") {
				r.loginURL <- u
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	return r
}

// waitURL is the login URL the command printed.
func (r *ssoLoginRun) waitURL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-r.loginURL:
		return u
	case <-r.drained:
	case <-time.After(time.Minute):
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("login printed no URL of the provider:\n%s", r.stderr.String())
	return ""
}

// wait waits (two minutes at most) for the command to end.
func (r *ssoLoginRun) wait(t *testing.T) cliResult {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		<-r.drained
		done <- r.cmd.Wait()
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = r.cmd.Process.Kill()
		t.Fatal("login --sso did not end within 2 minutes")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res := cliResult{stdout: r.stdout.String(), stderr: r.stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		res.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("$ %s -> %d\n%s%s", strings.Join(r.cmd.Args, " "), res.code, res.stdout, res.stderr)
	return res
}

// ssoBrowse is a person at the browser: it opens loginURL, fills in the
// provider's form, and follows the redirects back to the CLI's callback,
// whose answer it returns.
func ssoBrowse(t *testing.T, browser *http.Client, loginURL, user, password string) (int, string) {
	t.Helper()
	resp, err := browser.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("the login URL: %s at %s, want the provider's login form", resp.Status, resp.Request.URL)
	}
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request.URL.Host != "localhost:"+resp.Request.URL.Port() || resp.Request.URL.Path != "/auth/callback" {
		t.Fatalf("the browser ended at %s, want the CLI's callback", resp.Request.URL)
	}
	return resp.StatusCode, string(body)
}

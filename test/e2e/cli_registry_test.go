package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// quiet runs a command whose arguments or output hold a credential: the
// log shows the command's name, exit code and standard error only. It
// fails the test unless the command exits 0, and returns standard output.
func (c *cli) quiet(name string, args ...string) string {
	c.t.Helper()
	res := c.quietRun(name, args...)
	if res.code != 0 {
		c.t.Fatalf("%s %s exited %d: %s", name, args[0], res.code, res.stderr)
	}
	return res.stdout
}

func (c *cli) quietRun(name string, args ...string) cliResult {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.dir, name), args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		res.code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("$ %s %s ... (arguments and output not shown) -> %d\n%s", name, args[0], res.code, res.stderr)
	return res
}

// registered returns the Secrets of an Argo CD secret-type in argocd
// whose key equals value.
func registered(t *testing.T, c client.Client, typ, key, value string) []corev1.Secret {
	t.Helper()
	var list corev1.SecretList
	if err := c.List(context.Background(), &list, client.InNamespace("argocd"), client.MatchingLabels{argov1.LabelKeySecretType: typ}); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Secret
	for _, s := range list.Items {
		if string(s.Data[key]) == value {
			out = append(out, s)
		}
	}
	return out
}

// noSecretIn fails the test when out holds any of secrets.
func noSecretIn(t *testing.T, what, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("%s shows a credential", what)
		}
	}
}

// TestCLIRegistry drives `proj`, `cluster`, `repo` and `account` with the
// built binary: the seed's production project and a token of its role
// that then lists the project's apps; the test cluster registered from its
// own kubeconfig context through an argocd-manager ServiceAccount, listed
// without its token and removed; repositories added with a password and
// an SSH key, listed without either and removed; a local account's
// password changed and restored; accounts listed and rights asked.
func TestCLIRegistry(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	applier := newApplier(t)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "03-argo-appproject-production.yaml")) {
		checkAppliedAsWritten(t, applier, o)
	}
	placeholderApps(t, map[string]string{"cli-reg-prod": "production"})
	t.Cleanup(func() {
		_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: "cli-reg-prod", Namespace: "argocd"}})
		_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "production", Namespace: "argocd"}})
	})
	tether := startTether(t)
	server, password := cliServer(t, c, tether)
	cli := newCLI(t)
	cli.quiet("tether", "login", server, "--username", "admin", "--password", password, "--insecure")

	t.Run("proj list and get, through the API and with --core", func(t *testing.T) {
		out := cli.ok("tether", "proj", "list")
		for _, want := range []string{"NAME", "DESTINATIONS", "production", "Production project", "https://kubernetes.default.svc,production"} {
			if !strings.Contains(out, want) {
				t.Errorf("proj list lacks %q", want)
			}
		}
		if out := cli.ok("tether", "proj", "list", "-o", "name"); !strings.Contains(out, "production\n") {
			t.Errorf("proj list -o name %q", out)
		}
		if out := cli.ok("tether", "proj", "list", "--core"); !strings.Contains(out, "production") {
			t.Errorf("proj list --core %q", out)
		}
		get := cli.ok("tether", "proj", "get", "production")
		for _, want := range []string{"Name:", "Destinations:", "https://kubernetes.default.svc,production", "/Namespace", "/ResourceQuota", "app-developer"} {
			if !strings.Contains(get, want) {
				t.Errorf("proj get lacks %q", want)
			}
		}
		for _, args := range [][]string{{"proj", "get", "production", "-o", "json"}, {"proj", "get", "production", "-o", "yaml", "--core"}} {
			objs := applyYAML(t, cli.ok("tether", args...)) // the output applies back
			if len(objs) != 1 || objs[0].GetKind() != "AppProject" || objs[0].GetName() != "production" {
				t.Errorf("%v applied back %v", args, objs)
			}
		}
	})

	t.Run("proj role create-token issues a token that lists the project's apps", func(t *testing.T) {
		out := cli.quiet("tether", "proj", "role", "create-token", "production", "app-developer", "--expires-in", "1h")
		for _, want := range []string{"Create token succeeded for proj:production:app-developer.", "ID: ", "Issued At: ", "Token: "} {
			if !strings.Contains(out, want) {
				t.Errorf("create-token lacks %q", want)
			}
		}
		if strings.Contains(out, "Expires At: Never") {
			t.Error("a token of --expires-in 1h never expires")
		}
		token := strings.TrimSpace(cli.quiet("tether", "proj", "role", "create-token", "production", "app-developer", "--token-only"))
		if strings.Count(token, ".") != 2 || strings.ContainsAny(token, " \n") {
			t.Fatal("--token-only did not print a JWT alone")
		}
		apps := cli.quiet("tether", "app", "list", "-o", "name", "--server", server, "--auth-token", token, "--insecure")
		if !strings.Contains(apps, "argocd/cli-reg-prod") {
			t.Errorf("the role's token lists %q", apps)
		}
		res := cli.run("tether", "proj", "role", "create-token", "production", "app-developer", "--core")
		if res.code == 0 || !strings.Contains(res.stderr, "API server") {
			t.Errorf("create-token --core: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("cluster add registers the context's cluster through argocd-manager; list hides the token; rm removes it", func(t *testing.T) {
		host := cluster(t).Config.Host
		t.Cleanup(func() {
			for _, s := range registered(t, c, argov1.SecretTypeCluster, "server", host) {
				_ = c.Delete(ctx, &s)
			}
			for _, o := range []client.Object{
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-manager-long-lived-token", Namespace: "kube-system"}},
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "argocd-manager", Namespace: "kube-system"}},
				&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "argocd-manager-role-binding"}},
				&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "argocd-manager-role"}},
			} {
				_ = c.Delete(ctx, o)
			}
		})
		add := cli.run("tether", "cluster", "add", "testenv", "--name", "cli-target", "--label", "team=cli", "-y")
		if add.code != 0 || add.stdout != "Cluster '"+host+"' added\n" {
			t.Fatalf("cluster add: exit %d, %q %q", add.code, add.stdout, add.stderr)
		}
		var saToken corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "argocd-manager-long-lived-token"}, &saToken); err != nil {
			t.Fatal(err)
		}
		token := string(saToken.Data["token"])
		noSecretIn(t, "cluster add", add.stdout+add.stderr, token)
		var role rbacv1.ClusterRoleBinding
		if err := c.Get(ctx, client.ObjectKey{Name: "argocd-manager-role-binding"}, &role); err != nil || role.Subjects[0].Name != "argocd-manager" {
			t.Errorf("ClusterRoleBinding: %v %v", role.Subjects, err)
		}
		secrets := registered(t, c, argov1.SecretTypeCluster, "server", host)
		if len(secrets) != 1 {
			t.Fatalf("%d cluster Secrets for %s", len(secrets), host)
		}
		s := secrets[0]
		var config struct {
			BearerToken     string `json:"bearerToken"`
			TLSClientConfig struct {
				CAData []byte `json:"caData"`
			} `json:"tlsClientConfig"`
		}
		if err := json.Unmarshal(s.Data["config"], &config); err != nil {
			t.Fatal(err)
		}
		if string(s.Data["name"]) != "cli-target" || s.Labels["team"] != "cli" || config.BearerToken == "" || config.BearerToken != token ||
			len(config.TLSClientConfig.CAData) == 0 {
			t.Errorf("cluster Secret %s: name %q, labels %v, token from the ServiceAccount %v, CA %d bytes",
				s.Name, s.Data["name"], s.Labels, config.BearerToken == token, len(config.TLSClientConfig.CAData))
		}
		cli.ok("tether", "cluster", "add", "testenv", "--name", "cli-target", "--label", "team=cli", "-y") // the same again
		res := cli.run("tether", "cluster", "add", "testenv", "--name", "renamed", "-y")
		if res.code == 0 || !strings.Contains(res.stderr, "--upsert") {
			t.Errorf("a changed registration without --upsert: exit %d, %q", res.code, res.stderr)
		}
		list := cli.ok("tether", "cluster", "list")
		if !strings.Contains(list, host) || !strings.Contains(list, "cli-target") || !strings.Contains(list, "in-cluster") {
			t.Errorf("cluster list %q", list)
		}
		for _, args := range [][]string{{"cluster", "list", "-o", "json"}, {"cluster", "list", "-o", "yaml", "--core"}, {"cluster", "list", "-o", "wide"}} {
			out := cli.ok("tether", args...)
			noSecretIn(t, strings.Join(args, " "), out, token, "bearerToken", "caData")
			if !strings.Contains(out, host) {
				t.Errorf("%v lacks %s", args, host)
			}
		}
		var items []map[string]any
		if err := json.Unmarshal([]byte(cli.ok("tether", "cluster", "list", "-o", "json")), &items); err != nil || len(items) < 2 {
			t.Errorf("cluster list -o json: %d items, %v", len(items), err)
		}
		if out := cli.ok("tether", "cluster", "rm", "cli-target", "-y"); out != "Cluster '"+host+"' removed\n" {
			t.Errorf("cluster rm said %q", out)
		}
		if n := len(registered(t, c, argov1.SecretTypeCluster, "server", host)); n != 0 {
			t.Errorf("%d cluster Secrets left after rm", n)
		}
		if out := cli.ok("tether", "cluster", "list", "-o", "server"); strings.Contains(out, host) {
			t.Errorf("cluster list after rm %q", out)
		}
		if res := cli.run("tether", "cluster", "rm", "cli-target", "-y"); res.code == 0 {
			t.Error("removing an unknown cluster exited 0")
		}
	})

	t.Run("repo add, list and rm never show a password or key", func(t *testing.T) {
		const password, key = "repo-password-SECRET-cli", "ssh-key-SECRET-cli"
		const httpsRepo, sshRepo, helmRepo = "https://git.example.com/cli/app.git", "git@git.example.com:cli/ops.git", "https://charts.example.com/cli"
		t.Cleanup(func() {
			for _, url := range []string{httpsRepo, sshRepo, helmRepo} {
				for _, s := range registered(t, c, argov1.SecretTypeRepository, "url", url) {
					_ = c.Delete(ctx, &s)
				}
			}
		})
		keyFile := filepath.Join(t.TempDir(), "id_ed25519")
		if err := os.WriteFile(keyFile, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"+key+"\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out := cli.quiet("tether", "repo", "add", httpsRepo, "--username", "bot", "--password", password, "--project", "production", "--name", "cli-app"); out != "Repository '"+httpsRepo+"' added\n" {
			t.Errorf("repo add said %q", out)
		}
		cli.ok("tether", "repo", "add", sshRepo, "--ssh-private-key-path", keyFile, "--insecure-skip-server-verification")
		cli.ok("tether", "repo", "add", helmRepo, "--type", "helm", "--name", "cli-charts", "--enable-oci")
		want := map[string]map[string]string{
			httpsRepo: {"type": "git", "name": "cli-app", "project": "production", "username": "bot", "password": password},
			sshRepo:   {"type": "git", "insecure": "true"},
			helmRepo:  {"type": "helm", "name": "cli-charts", "enableOCI": "true"},
		}
		for url, keys := range want {
			secrets := registered(t, c, argov1.SecretTypeRepository, "url", url)
			if len(secrets) != 1 {
				t.Fatalf("%d Secrets for %s", len(secrets), url)
			}
			for k, v := range keys {
				if got := string(secrets[0].Data[k]); got != v {
					t.Errorf("%s: key %s does not hold what was given", url, k)
				}
			}
			if url == sshRepo && !strings.Contains(string(secrets[0].Data["sshPrivateKey"]), key) {
				t.Errorf("%s: sshPrivateKey is not the file's key", url)
			}
		}
		for _, args := range [][]string{{"repo", "list"}, {"repo", "list", "-o", "json"}, {"repo", "list", "-o", "yaml", "--core"}, {"repo", "list", "-o", "url"}} {
			out := cli.ok("tether", args...)
			noSecretIn(t, strings.Join(args, " "), out, password, key, "sshPrivateKey")
			for url := range want {
				if !strings.Contains(out, url) {
					t.Errorf("%v lacks %s", args, url)
				}
			}
		}
		cli.quiet("tether", "repo", "add", httpsRepo, "--username", "bot", "--password", password, "--project", "production", "--name", "cli-app") // the same again
		res := cli.quietRun("tether", "repo", "add", httpsRepo, "--username", "bot", "--password", "other-password", "--name", "cli-app")
		if res.code == 0 || !strings.Contains(res.stderr, "--upsert") {
			t.Errorf("a changed repository without --upsert: exit %d, %q", res.code, res.stderr)
		}
		cli.quiet("tether", "repo", "add", httpsRepo, "--username", "bot", "--password", "other-password", "--name", "cli-app", "--upsert")
		if s := registered(t, c, argov1.SecretTypeRepository, "url", httpsRepo); len(s) != 1 || string(s[0].Data["password"]) != "other-password" {
			t.Error("--upsert did not replace the password")
		}
		for url := range want {
			if out := cli.ok("tether", "repo", "rm", url); out != "Repository '"+url+"' removed\n" {
				t.Errorf("repo rm said %q", out)
			}
			if n := len(registered(t, c, argov1.SecretTypeRepository, "url", url)); n != 0 {
				t.Errorf("%s: %d Secrets left after rm", url, n)
			}
		}
		if res := cli.run("tether", "repo", "rm", httpsRepo); res.code == 0 {
			t.Error("removing an unknown repository exited 0")
		}
	})

	t.Run("account list, get and can-i", func(t *testing.T) {
		out := cli.ok("tether", "account", "list")
		if !strings.Contains(out, "NAME") || !strings.Contains(out, "admin") || !strings.Contains(out, "carol") {
			t.Errorf("account list %q", out)
		}
		if out := cli.ok("tether", "account", "get"); !strings.Contains(out, "Name:") || !strings.Contains(out, "admin") {
			t.Errorf("account get %q", out)
		}
		var carol struct {
			Name         string   `json:"name"`
			Capabilities []string `json:"capabilities"`
		}
		if err := json.Unmarshal([]byte(cli.ok("tether", "account", "get", "--account", "carol", "-o", "json")), &carol); err != nil ||
			carol.Name != "carol" || len(carol.Capabilities) != 1 || carol.Capabilities[0] != "login" {
			t.Errorf("account get carol: %+v, %v", carol, err)
		}
		if out := cli.ok("tether", "account", "can-i", "sync", "applications", "production/*"); out != "yes\n" {
			t.Errorf("admin can-i sync: %q", out)
		}
		cli.quiet("tether", "login", server, "--username", "carol", "--password", "carol-password", "--insecure", "--name", "carol")
		cli.ok("tether", "context", server) // back to admin
		if out := cli.ok("tether", "account", "can-i", "sync", "applications", "production/*", "--argocd-context", "carol"); out != "no\n" {
			t.Errorf("readonly can-i sync: %q", out)
		}
		if out := cli.ok("tether", "account", "can-i", "get", "applications", "production/*", "--argocd-context", "carol"); out != "yes\n" {
			t.Errorf("readonly can-i get: %q", out)
		}
		if res := cli.run("tether", "account", "list", "--core"); res.code == 0 || !strings.Contains(res.stderr, "API server") {
			t.Errorf("account list --core: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("account update-password changes a local account's password and renews the context", func(t *testing.T) {
		const newPassword = "carol-new-password-1"
		res := cli.run("tether", "account", "update-password", "--argocd-context", "carol")
		if res.code == 0 || !strings.Contains(res.stderr, "not a terminal") {
			t.Errorf("without passwords and a terminal: exit %d, %q", res.code, res.stderr)
		}
		out := cli.quiet("tether", "account", "update-password", "--argocd-context", "carol", "--current-password", "carol-password", "--new-password", newPassword)
		if !strings.Contains(out, "Password updated") || !strings.Contains(out, "Context 'carol' updated") {
			t.Errorf("update-password said %q", out)
		}
		restored := false
		t.Cleanup(func() {
			if !restored {
				cli.quiet("tether", "account", "update-password", "--argocd-context", "carol", "--current-password", newPassword, "--new-password", "carol-password")
			}
		})
		if out := cli.ok("tether", "account", "get", "--argocd-context", "carol"); !strings.Contains(out, "carol") {
			t.Errorf("the renewed context: %q", out)
		}
		if res := cli.quietRun("tether", "login", server, "--username", "carol", "--password", "carol-password", "--insecure", "--name", "carol-old"); res.code == 0 {
			t.Error("the old password still logs in")
		}
		cli.quiet("tether", "login", server, "--username", "carol", "--password", newPassword, "--insecure", "--name", "carol")
		cli.quiet("tether", "account", "update-password", "--argocd-context", "carol", "--current-password", newPassword, "--new-password", "carol-password")
		restored = true
		cli.quiet("tether", "login", server, "--username", "carol", "--password", "carol-password", "--insecure", "--name", "carol")
		if _, err := os.Stat(filepath.Join(cli.home, ".config", "tether", "config")); err != nil {
			t.Fatal(err)
		}
	})

	// The cluster subtest's cleanup has run: nothing is left in the
	// target cluster.
	var tokenSecret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "argocd-manager-long-lived-token"}, &tokenSecret); !apierrors.IsNotFound(err) {
		t.Errorf("the ServiceAccount token Secret is left: %v", err)
	}
}

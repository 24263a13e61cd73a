package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
)

// cli runs the built tether binary as a user would, under the names
// tether, argocd and flux (links to it), with a home of its own so that
// its login contexts stay in the test.
type cli struct {
	t    *testing.T
	dir  string
	home string
	env  []string
}

// cliResult is what one command printed and its exit code.
type cliResult struct {
	stdout, stderr string
	code           int
}

// newCLI prepares the binary and its links, and a home whose kubeconfig is
// the test cluster's (as `flux` and `--core` read it).
func newCLI(t *testing.T) *cli {
	t.Helper()
	bin, err := testenv.TetherBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"tether", "argocd", "flux"} {
		if err := os.Symlink(bin, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"KUBECONFIG=" + cluster(t).KubeconfigPath, "PATH=" + os.Getenv("PATH"), "TERM=dumb"}
	return &cli{t: t, dir: dir, home: home, env: env}
}

// run runs name (tether, argocd or flux) with args and at most two
// minutes more than the command's own bound.
func (c *cli) run(name string, args ...string) cliResult {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.dir, name), args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		c.t.Fatalf("%s %s did not end within 5 minutes", name, strings.Join(args, " "))
	}
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		res.code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("$ %s %s -> %d\n%s%s", name, strings.Join(args, " "), res.code, res.stdout, res.stderr)
	return res
}

// ok runs a command that must exit 0 and returns its standard output.
func (c *cli) ok(name string, args ...string) string {
	c.t.Helper()
	res := c.run(name, args...)
	if res.code != 0 {
		c.t.Fatalf("%s %s exited %d: %s", name, strings.Join(args, " "), res.code, res.stderr)
	}
	return res.stdout
}

// cliServer waits for tether's API server and its admin bootstrap, and
// returns the address a user passes to `tether login` and the admin's
// initial password.
func cliServer(t *testing.T, c client.Client, tether *testenv.Tether) (server, password string) {
	t.Helper()
	_, _ = adminSession(t, c, tether) // waits for the bootstrap
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var initial corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "argocd", Name: "argocd-initial-admin-secret"}, &initial); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(base, "https://"), string(initial.Data["password"])
}

// background starts a long-running command (a watch) and returns what it
// prints so far; it is stopped when the test ends.
func (c *cli) background(name string, args ...string) *testenv.SyncBuffer {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.dir, name), args...)
	cmd.Env = c.env
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		c.t.Logf("$ %s %s (stopped)\n%s", name, strings.Join(args, " "), out.String())
	})
	return out
}

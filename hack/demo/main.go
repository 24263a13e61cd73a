// Command demo is `make demo`: it starts the local control plane, a Git
// server on loopback that serves the guestbook example as
// https://github.com/argoproj/argocd-example-apps.git (through Tether's URL
// rewrite), and `tether run`; applies the seed's Argo CD Application
// unchanged; and prints each change of its status until it is Synced and
// Healthy.
//
//	go run ./hack/demo -dir .local/demo -tether .local/bin/tether
//	DEMO_ONCE=1 go run ./hack/demo   # exit 0 once Synced and Healthy, 1 with the reason if not
//
// Without DEMO_ONCE it then says how to look around and runs until SIGINT
// or SIGTERM, when it stops Tether, the Git server and the cluster. Its
// files are in -dir: kubeconfig, tether.log and the cluster's logs (kept
// after the demo ends; the rest is removed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tether-gitops/tether/internal/testenv"
)

// Files of the repository the demo uses, relative to its root.
const (
	seedFile    = "test/e2e/testdata/seed-examples/01-argo-application-guestbook.yaml"
	exampleRepo = "test/e2e/testdata/argocd-example-apps"
	crdDir      = "config/crd/bases"
)

// The Application the seed file declares, and what the URL rewrite maps.
const (
	appNamespace  = "argocd"
	appName       = "guestbook"
	destNamespace = "guestbook"
	rewriteFrom   = "https://github.com/argoproj/"
	repoName      = "argocd-example-apps"
)

// config is the command line.
type config struct {
	dir     string        // the demo's files
	tether  string        // the tether binary
	timeout time.Duration // how long the Application may take to be Synced and Healthy
	once    bool          // exit once Synced and Healthy (DEMO_ONCE)
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv("DEMO_ONCE"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the demo at once; what it started dies with it
	}()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, onceEnv string) (config, error) {
	once := false
	if onceEnv != "" {
		v, err := strconv.ParseBool(onceEnv)
		if err != nil {
			return config{}, fmt.Errorf("DEMO_ONCE=%q: want 1 or 0", onceEnv)
		}
		once = v
	}
	cfg := config{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&cfg.dir, "dir", ".local/demo", "folder for the demo's cluster, Git server, Tether storage and logs")
	fs.StringVar(&cfg.tether, "tether", ".local/bin/tether", "the tether binary to run")
	fs.DurationVar(&cfg.timeout, "timeout", 3*time.Minute, "how long the Application may take to become Synced and Healthy")
	fs.BoolVar(&cfg.once, "once", once, "exit 0 as soon as the Application is Synced and Healthy, 1 if it is not within -timeout (default: $DEMO_ONCE)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.dir, err = filepath.Abs(cfg.dir); err != nil {
		return config{}, err
	}
	if cfg.tether, err = filepath.Abs(cfg.tether); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// run is the whole demo; it returns when the demo is over and everything
// it started has stopped.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.tether); err != nil {
		return fmt.Errorf("tether binary %s: %w (build it with `go build -o %s ./cmd/tether`, or run `make demo`)",
			cfg.tether, err, cfg.tether)
	}
	d := &demo{cfg: cfg, root: root, out: out, kubeconfig: filepath.Join(cfg.dir, "kubeconfig")}
	if err := d.claimDir(); err != nil {
		return err
	}
	defer d.cleanup()
	for _, step := range []func(context.Context) error{
		d.startCluster, d.installAPIs, d.startGitServer, d.startTether, d.applySeed,
	} {
		if err := step(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
	}
	return d.follow(ctx)
}

// claimDir empties cfg.dir, unless another demo is running there, and
// writes this process's id into it.
func (d *demo) claimDir() error {
	pidFile := filepath.Join(d.cfg.dir, "pid")
	if data, err := os.ReadFile(pidFile); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("a demo is already running in %s (pid %d); stop it with Ctrl-C or `kill %d`", d.cfg.dir, pid, pid)
		}
	}
	if err := os.RemoveAll(d.cfg.dir); err != nil {
		return fmt.Errorf("empty %s: %w", d.cfg.dir, err)
	}
	if err := os.MkdirAll(d.cfg.dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// cleanup stops Tether, the Git server and the cluster, in that order,
// and removes the demo's files but its logs.
func (d *demo) cleanup() {
	if d.tether != nil {
		d.say("stopping tether")
		d.tether.stop(15 * time.Second)
	}
	if d.git != nil {
		d.git.Stop()
	}
	if d.env != nil {
		d.say("stopping the control plane")
		d.env.Stop()
	}
	for _, name := range []string{"kubeconfig", "git", "storage", "git-cache", "pid"} {
		_ = os.RemoveAll(filepath.Join(d.cfg.dir, name))
	}
	clusterDir := filepath.Join(d.cfg.dir, "cluster")
	entries, _ := os.ReadDir(clusterDir)
	for _, e := range entries {
		if e.Name() != "logs" {
			_ = os.RemoveAll(filepath.Join(clusterDir, e.Name()))
		}
	}
	d.say("demo stopped; logs are in %s", d.rel(d.cfg.dir))
}

// say prints one progress line with the time.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// rel shortens path to be relative to the working directory when it is
// below it.
func (d *demo) rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && filepath.IsLocal(r) {
		return r
	}
	return path
}

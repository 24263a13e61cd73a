package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-gitops/tether/internal/gitserve"
	"github.com/tether-gitops/tether/internal/testenv"
)

// demo is one run of the demo: what it started, so that cleanup can stop
// it.
type demo struct {
	cfg        config
	root       string // the repository
	out        io.Writer
	kubeconfig string // cfg.dir/kubeconfig, for the person

	env     *testenv.Env
	git     *gitserve.Server
	repoURL string // the loopback URL of argocd-example-apps.git
	apiURL  string // the API server's base URL
	tether  *process
}

// startCluster starts etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, and writes the admin kubeconfig.
func (d *demo) startCluster(context.Context) error {
	d.say("starting the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)")
	env, err := testenv.Start(testenv.Options{Dir: filepath.Join(d.cfg.dir, "cluster"), Logf: d.say})
	if err != nil {
		return err
	}
	d.env = env
	data, err := os.ReadFile(env.KubeconfigPath)
	if err != nil {
		return err
	}
	return os.WriteFile(d.kubeconfig, data, 0o600)
}

// installAPIs serves Tether's CRDs and creates the Application's namespace
// and its destination, as a person would before applying it.
func (d *demo) installAPIs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(d.root, crdDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s: %v", crdDir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := testenv.InstallCRDs(ctx, d.env.Config, files...); err != nil {
		return err
	}
	d.say("installed %d CRDs from %s", len(files), crdDir)
	client, err := kubernetes.NewForConfig(d.env.Config)
	if err != nil {
		return err
	}
	for _, name := range []string{appNamespace, destNamespace} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	d.say("created namespaces %s and %s", appNamespace, destNamespace)
	return nil
}

// startGitServer serves the example folder as argocd-example-apps.git.
func (d *demo) startGitServer(ctx context.Context) error {
	srv, err := gitserve.Start(gitserve.Options{Dir: filepath.Join(d.cfg.dir, "git")})
	if err != nil {
		return err
	}
	d.git = srv
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	repo, commit, err := srv.CreateRepoFromDir(ctx, repoName, filepath.Join(d.root, exampleRepo))
	if err != nil {
		return err
	}
	d.repoURL = repo.URL
	d.say("Git server on %s serves %s.git (commit %.7s, the files of %s)", srv.URL, repoName, commit, exampleRepo)
	return nil
}

// startTether runs `tether run` with the URL rewrite that sends the seed's
// GitHub URL to the loopback Git server, logging into tether.log.
func (d *demo) startTether(context.Context) error {
	apiAddr, err := freeLoopbackAddr()
	if err != nil {
		return fmt.Errorf("a port for the API server: %w", err)
	}
	d.apiURL = "https://" + apiAddr
	args := []string{"run",
		"--kubeconfig", d.kubeconfig,
		"--url-rewrite", rewriteFrom + "=" + d.git.URL + "/",
		"--storage-path", filepath.Join(d.cfg.dir, "storage"),
		"--storage-addr", "127.0.0.1:0",
		"--git-cache-dir", filepath.Join(d.cfg.dir, "git-cache"),
		"--metrics-addr", "0", "--health-addr", "0",
		"--server-addr", apiAddr,
	}
	p, err := startProcess(d.cfg.tether, args, d.logPath())
	if err != nil {
		return fmt.Errorf("start %s: %w", d.cfg.tether, err)
	}
	d.tether = p
	d.say("started tether run --url-rewrite %s=%s/ (logs in %s)", rewriteFrom, d.git.URL, d.rel(d.logPath()))
	return nil
}

// applySeed applies the seed's Application, unchanged.
func (d *demo) applySeed(ctx context.Context) error {
	objs, err := testenv.ReadObjectFiles(filepath.Join(d.root, seedFile))
	if err != nil {
		return err
	}
	applier, err := testenv.NewApplier(d.env.Config)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if _, err := applier.Apply(ctx, obj); err != nil {
			return fmt.Errorf("apply %s %s/%s from %s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), seedFile, err)
		}
		d.say("applied %s %s/%s from %s", obj.GetKind(), obj.GetNamespace(), obj.GetName(), seedFile)
	}
	return nil
}

func (d *demo) logPath() string { return filepath.Join(d.cfg.dir, "tether.log") }

// logTail returns the last n lines of tether.log, indented.
func (d *demo) logTail(n int) string {
	data, err := os.ReadFile(d.logPath())
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// process is a program the demo started.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // why it exited, once done is closed
}

// startProcess runs bin with its output appended to logPath, in its own
// process group (Ctrl-C reaches the demo, which stops it in order), and
// killed if the demo dies.
func startProcess(bin string, args []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the
		// process ends, so that thread lives until the process has exited.
		runtime.LockOSThread()
		defer logFile.Close()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// stop sends SIGTERM and waits up to grace before killing the process.
func (p *process) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

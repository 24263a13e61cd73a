package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	tetherBin string
	buildErr  error

	// tetherSpawner starts `tether run` processes from one pinned thread
	// that lives as long as the test binary, so that their parent-death
	// signal fires only when the test binary dies.
	tetherSpawnerOnce sync.Once
	tetherSpawner     *spawner
)

// TetherBinary builds cmd/tether once per test process and returns its
// path.
func TetherBinary() (string, error) {
	buildOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "tether-bin-")
		if err != nil {
			buildErr = err
			return
		}
		tetherBin = filepath.Join(dir, "tether")
		cmd := exec.Command("go", "build", "-o", tetherBin, "./cmd/tether")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build tether: %v\n%s", err, out)
		}
	})
	return tetherBin, buildErr
}

// removeTetherBinary deletes the binary TetherBinary built, if any.
func removeTetherBinary() {
	if tetherBin != "" {
		_ = os.RemoveAll(filepath.Dir(tetherBin))
	}
}

// Tether is a `tether run` process started by a test.
type Tether struct {
	// Cmd is the running process.
	Cmd *exec.Cmd
	// Logs collects its standard output and error.
	Logs *SyncBuffer
}

// StartTether runs `tether run` against env with args added to sensible
// test defaults (loopback artifact server on a free port, metrics and
// health probes off, debug logs). It stops the process when the test ends
// and prints its logs if the test failed.
func StartTether(t testing.TB, env *Env, args ...string) *Tether {
	t.Helper()
	base := []string{"run", "--kubeconfig", env.KubeconfigPath,
		"--storage-path", t.TempDir(), "--storage-addr", "127.0.0.1:0",
		"--metrics-addr", "0", "--health-addr", "0", "--server-addr", "127.0.0.1:0", "--log-level", "debug"}
	return startTether(t, append(base, args...))
}

// StartTetherServer runs `tether server` (the API server alone) against
// env with args added to test defaults, as StartTether does.
func StartTetherServer(t testing.TB, env *Env, args ...string) *Tether {
	t.Helper()
	base := []string{"server", "--kubeconfig", env.KubeconfigPath,
		"--metrics-addr", "0", "--health-addr", "0", "--server-addr", "127.0.0.1:0", "--log-level", "debug"}
	return startTether(t, append(base, args...))
}

func startTether(t testing.TB, args []string) *Tether {
	t.Helper()
	bin, err := TetherBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	tetherSpawnerOnce.Do(func() { tetherSpawner = newSpawner() })
	if err := tetherSpawner.run(cmd.Start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("tether logs:\n%s", logs.String())
		}
	})
	return &Tether{Cmd: cmd, Logs: logs}
}

// APIURL waits up to timeout for the API server to listen and returns its
// base URL (from its "api server listening" log line).
func (t *Tether) APIURL(timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(t.Logs.String(), "\n") {
			if !strings.Contains(line, `"api server listening"`) {
				continue
			}
			var entry struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal([]byte(line), &entry); err == nil && entry.URL != "" {
				return entry.URL, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the API server did not report listening within %v", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer that is safe for concurrent use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

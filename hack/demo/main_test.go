package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
)

// TestDemoOnce runs `DEMO_ONCE=1 make demo` as the Makefile does: the
// built demo and tether binaries, a fresh folder. It passes when the
// demo exits 0 with the guestbook Synced and Healthy and leaves no
// process and no cluster files behind.
func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	if _, err := testenv.BinDir(); err != nil {
		t.Fatal(err)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	demoBin, tetherBin := filepath.Join(tmp, "demo"), filepath.Join(tmp, "tether")
	for bin, pkg := range map[string]string{demoBin: "./hack/demo", tetherBin: "./cmd/tether"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	dir := filepath.Join(tmp, "demo-state")
	cmd := exec.Command(demoBin, "-dir", dir, "-tether", tetherBin, "-timeout", "3m")
	cmd.Env = append(os.Environ(), "DEMO_ONCE=1")
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case err = <-exited:
	case <-time.After(8 * time.Minute):
		_ = cmd.Process.Signal(syscall.SIGTERM) // the demo stops what it started
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
		}
		t.Fatalf("DEMO_ONCE=1 demo still running after 8 minutes:\n%s", out.String())
	}
	if err != nil {
		t.Fatalf("DEMO_ONCE=1 demo failed (%v):\n%s", err, out.String())
	}
	for _, want := range []string{"Synced", "Healthy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output does not mention %s:\n%s", want, out.String())
		}
	}
	for _, gone := range []string{"kubeconfig", "pid", "cluster/etcd", "git", "storage"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s left behind after the demo: %v", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tether.log")); err != nil {
		t.Errorf("tether.log not kept: %v", err)
	}
	if pids := processesMentioning(t, dir); len(pids) > 0 {
		t.Errorf("processes still running with %s in their command line: %v", dir, pids)
	}
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, f := range cmdlines {
		data, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(data), s) {
			pids = append(pids, filepath.Base(filepath.Dir(f))+": "+strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return pids
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      string
		wantOnce bool
		wantErr  bool
	}{
		{name: "defaults", wantOnce: false},
		{name: "DEMO_ONCE=1", env: "1", wantOnce: true},
		{name: "DEMO_ONCE=0", env: "0", wantOnce: false},
		{name: "DEMO_ONCE=true", env: "true", wantOnce: true},
		{name: "flag wins over DEMO_ONCE", args: []string{"-once=false"}, env: "1", wantOnce: false},
		{name: "DEMO_ONCE=maybe", env: "maybe", wantErr: true},
		{name: "stray argument", args: []string{"now"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseFlags(tt.args, tt.env)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseFlags = %+v, want an error", cfg)
				}
				return
			}
			if err != nil || cfg.once != tt.wantOnce || cfg.timeout != 3*time.Minute || !filepath.IsAbs(cfg.dir) {
				t.Errorf("parseFlags = %+v, %v; want once=%v, timeout 3m and an absolute dir", cfg, err, tt.wantOnce)
			}
		})
	}
}

func TestAppStateString(t *testing.T) {
	tests := []struct {
		state appState
		want  string
		ready bool
	}{
		{appState{}, "not found", false},
		{appState{found: true}, "no status yet", false},
		{appState{found: true, sync: "OutOfSync", health: "Missing", phase: "Running"},
			"sync=OutOfSync health=Missing operation=Running", false},
		{appState{found: true, sync: "Unknown", conditions: "ComparisonError: repository not found"},
			"sync=Unknown health=- operation=- conditions: ComparisonError: repository not found", false},
		{appState{found: true, sync: "Synced", health: "Healthy", phase: "Succeeded", revision: "a4e149c"},
			"sync=Synced health=Healthy operation=Succeeded revision=a4e149c", true},
	}
	for _, tt := range tests {
		if got := tt.state.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := tt.state.ready(); got != tt.ready {
			t.Errorf("%q: ready() = %v, want %v", tt.want, got, tt.ready)
		}
	}
}

func TestStateOf(t *testing.T) {
	app := &v1alpha1.Application{Status: v1alpha1.ApplicationStatus{
		Sync:           v1alpha1.SyncStatus{Status: "OutOfSync", Revision: "a4e149c283fb15e4e5ec3702d5abbfef0194a539"},
		Health:         v1alpha1.HealthStatus{Status: "Degraded"},
		OperationState: &v1alpha1.OperationState{Phase: "Failed"},
		Conditions: []v1alpha1.ApplicationCondition{
			{Type: "SyncError", Message: "one"}, {Type: "ComparisonError", Message: "two"},
		},
	}}
	want := appState{found: true, sync: "OutOfSync", revision: "a4e149c", health: "Degraded", phase: "Failed",
		conditions: "SyncError: one; ComparisonError: two"}
	if got := stateOf(app); got != want {
		t.Errorf("stateOf = %+v, want %+v", got, want)
	}
}

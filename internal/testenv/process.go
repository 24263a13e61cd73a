package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// process is one control-plane program running in its own process group.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// spawner starts processes from one OS thread that lives as long as the
// cluster. Linux sends the parent-death signal when the *thread* that
// started a child exits, and the Go runtime may retire threads, so children
// must come from a thread that is pinned and kept alive.
type spawner struct {
	requests chan func()
}

func newSpawner() *spawner {
	s := &spawner{requests: make(chan func())}
	go func() {
		runtime.LockOSThread()
		for fn := range s.requests {
			fn()
		}
		// Unlock rather than let the thread die with this goroutine: the
		// runtime may have forked other children (a `tether run` of the
		// test, say) from this very thread before it was locked, and the
		// thread's death would kill them.
		runtime.UnlockOSThread()
	}()
	return s
}

// start runs startProcess on the spawner's thread.
func (s *spawner) start(name, bin, logDir string, args ...string) (p *process, err error) {
	err = s.run(func() error {
		var err error
		p, err = startProcess(name, bin, logDir, args...)
		return err
	})
	return p, err
}

// run calls fn on the spawner's thread.
func (s *spawner) run(fn func() error) error {
	var err error
	done := make(chan struct{})
	s.requests <- func() {
		err = fn()
		close(done)
	}
	<-done
	return err
}

// close ends the spawner's thread; call it after every child has stopped.
func (s *spawner) close() { close(s.requests) }

// startProcess runs bin with args, logging to <logDir>/<name>.log. The
// child gets its own process group, so that stopping it stops its children
// too, and SIGKILL when the test binary dies, so that nothing is left
// behind after a panic or a timeout. Call it through a spawner.
func startProcess(name, bin, logDir string, args ...string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace for the
// process to exit, then kills the group.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.cmd.Process == nil {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlived the leader go too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// failure describes why the process is not running, with the end of its log.
func (p *process) failure() error {
	tail, _ := tailFile(p.logPath, 2048)
	return fmt.Errorf("%s exited (%v); last log lines:\n%s", p.name, p.err, tail)
}

// waitFor polls check every 100ms until it returns nil, the context ends or
// one of procs exits.
func waitFor(ctx context.Context, what string, check func(context.Context) error, procs ...*process) error {
	var last error
	for {
		for _, p := range procs {
			if p.exited() {
				return fmt.Errorf("wait for %s: %w", what, p.failure())
			}
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tailFile(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, os.ErrClosed) && len(buf) == 0 {
		return "", err
	}
	return string(buf), nil
}

package render

import (
	"os"
	"syscall"
)

// workerExecutable is the running binary; /proc/self/exe still works
// when the file was replaced or removed since the process started.
func workerExecutable() (string, error) { return "/proc/self/exe", nil }

// workerProcAttr makes the worker die with the thread that started it,
// which in Go means with the process (the runtime does not end its
// threads, except one that a goroutine locked and never unlocked).
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// workerSelfLimits makes the worker the kernel's first choice when memory
// runs out, rather than the controller that started it. Best effort.
func workerSelfLimits() {
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
}

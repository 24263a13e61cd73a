//go:build !linux

package render

import (
	"os"
	"syscall"
)

func workerExecutable() (string, error) { return os.Executable() }

func workerProcAttr() *syscall.SysProcAttr { return nil }

func workerSelfLimits() {}

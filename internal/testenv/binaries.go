package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BinEnvVar names the environment variable that overrides where the
// control-plane binaries are looked up.
const BinEnvVar = "TETHER_TESTCLUSTER_BIN"

// binaries lists the files Start needs in the binary folder.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml"}

// BinDir returns the folder that holds the control-plane binaries: the
// value of TETHER_TESTCLUSTER_BIN, or .local/testcluster/bin in the
// repository that contains the working directory.
func BinDir() (string, error) {
	if dir := os.Getenv(BinEnvVar); dir != "" {
		return dir, checkBinaries(dir)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, ".local", "testcluster", "bin")
	return dir, checkBinaries(dir)
}

func checkBinaries(dir string) error {
	for _, name := range binaries {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("test control plane not built: %s is missing; run `make testcluster` (or set %s): %w",
				filepath.Join(dir, name), BinEnvVar, err)
		}
	}
	return nil
}

// RepoRoot returns the closest folder at or above the working directory
// that holds Tether's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "hack", "testcluster")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod with hack/testcluster above the working directory")
		}
		dir = parent
	}
}

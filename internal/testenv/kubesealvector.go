package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

var (
	kubesealOnce sync.Once
	kubesealBin  string
	kubesealErr  error
)

// KubesealVectorBinary returns hack/kubeseal-vector built: a sealer on
// Bitnami's own kubeseal code (github.com/bitnami/sealed-secrets v0.40.0,
// in a Go module of its own so that Tether's go.mod never requires it).
// It is kept in .local/bin (git-ignored) and built again only when its
// go.mod, go.sum or main.go, or the Go version, change; a cold build takes
// about a minute on two cores and needs the module proxy.
func KubesealVectorBinary() (string, error) {
	kubesealOnce.Do(func() { kubesealBin, kubesealErr = buildKubesealVector() })
	return kubesealBin, kubesealErr
}

func buildKubesealVector() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "hack", "kubeseal-vector")
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return "", fmt.Errorf("kubeseal-vector: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	h.Write([]byte(runtime.Version()))
	key := hex.EncodeToString(h.Sum(nil))
	bin := filepath.Join(root, ".local", "bin", "kubeseal-vector")
	keyFile := filepath.Join(root, ".local", "bin", ".kubeseal-vector.key")
	if old, err := os.ReadFile(keyFile); err == nil && string(old) == key {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("build hack/kubeseal-vector (Bitnami's kubeseal code): %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, os.WriteFile(keyFile, []byte(key), 0o644)
}

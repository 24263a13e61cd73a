// Command cluster runs the test control plane for a person, in the
// background of `make cluster-up`, and stops it for `make cluster-down`.
//
//	go run ./hack/cluster up   -dir .local/cluster -kubeconfig .local/kubeconfig
//	go run ./hack/cluster down -dir .local/cluster
//
// `up` stays in the foreground until it receives SIGINT or SIGTERM; the
// Makefile starts it with nohup and waits for the kubeconfig to appear.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tether-gitops/tether/internal/testenv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cluster up|down [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".local/cluster", "folder for the cluster's data and logs")
	kubeconfig := fs.String("kubeconfig", ".local/kubeconfig", "where to write the admin kubeconfig")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "up":
		err = up(*dir, *kubeconfig)
	case "down":
		err = down(*dir, *kubeconfig)
	default:
		err = fmt.Errorf("unknown command %q: use up or down", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func up(dir, kubeconfig string) error {
	pidFile := filepath.Join(dir, "pid")
	if pid, err := readPid(pidFile); err == nil && syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("a cluster is already running (pid %d); run `make cluster-down` first", pid)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	env, err := testenv.Start(testenv.Options{Dir: dir, Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }})
	if err != nil {
		return err
	}
	defer env.Stop()
	data, err := os.ReadFile(env.KubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	fmt.Printf("cluster up: kubeconfig %s, logs in %s\n", kubeconfig, filepath.Join(dir, "logs"))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("cluster: stopping")
	_ = os.Remove(kubeconfig)
	_ = os.Remove(pidFile)
	return nil
}

func down(dir, kubeconfig string) error {
	pid, err := readPid(filepath.Join(dir, "pid"))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("cluster down: no cluster is running")
		return nil
	}
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Printf("cluster down: process %d is gone already\n", pid)
		_ = os.Remove(filepath.Join(dir, "pid"))
		_ = os.Remove(kubeconfig)
		return nil
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Println("cluster down: stopped")
			return nil
		}
	}
	return fmt.Errorf("process %d did not stop within 60s", pid)
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

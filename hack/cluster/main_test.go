package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestUpAndDown drives the command as `make cluster-up` and `make
// cluster-down` do: up in the background, a kubeconfig that reaches a
// working cluster, then down, after which no process is left.
func TestUpAndDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "cluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir, kubeconfig := filepath.Join(tmp, "state"), filepath.Join(tmp, "kubeconfig")
	up := exec.Command(bin, "up", "-dir", dir, "-kubeconfig", kubeconfig)
	var log strings.Builder
	up.Stdout, up.Stderr = &log, &log
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- up.Wait() }()
	t.Cleanup(func() { _ = up.Process.Kill() })

	deadline := time.Now().Add(3 * time.Minute)
	for {
		if st, err := os.Stat(kubeconfig); err == nil && st.Size() > 0 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("up exited early: %v\n%s", err, log.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no kubeconfig after 3 minutes:\n%s", log.String())
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 {
		t.Fatalf("list nodes through %s: %v (%d nodes)", kubeconfig, err, len(nodes.Items))
	}
	children := childPids(t, up.Process.Pid)

	if out, err := exec.Command(bin, "down", "-dir", dir, "-kubeconfig", kubeconfig).CombinedOutput(); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("up still running after down")
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("kubeconfig left behind after down: %v", err)
	}
	for _, pid := range children {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("control-plane process %d still running after down", pid)
		}
	}
}

// childPids returns the pids of pid's children, from /proc (each thread
// lists the children it started).
func childPids(t *testing.T, pid int) []int {
	t.Helper()
	files, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		all = append(all, strings.Fields(string(data))...)
	}
	var pids []int
	for _, f := range all {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) != 5 {
		t.Fatalf("up has %d child processes, want 5", len(pids))
	}
	return pids
}

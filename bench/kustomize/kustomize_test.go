// Package kustomize measures Tether applying many Flux Kustomizations of
// 10 objects each from one Git repository, against a real control plane,
// beside the API server's own server-side-apply ceiling measured in the
// same run. Run it with `make bench` (TETHER_BENCH=1); plain `go test`
// skips it.
package kustomize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	if os.Getenv("TETHER_BENCH") == "" {
		fmt.Println("skipping the Kustomization benchmark: set TETHER_BENCH=1 (make bench)")
		os.Exit(0)
	}
	os.Exit(testenv.Main(m, testenv.Options{Audit: true}, &env))
}

const objectsPerApp = 10

func TestKustomizationScale(t *testing.T) {
	ctx := context.Background()
	crds, _ := filepath.Glob("../../config/crd/bases/*.yaml")
	if err := testenv.InstallCRDs(ctx, env.Config, crds...); err != nil {
		t.Fatal(err)
	}
	c, err := env.Client()
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{100, 1000}
	if s := os.Getenv("TETHER_BENCH_APPS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n)
		}
	}
	srv := gitserver.New(t, gitserver.Options{})
	var rows []string
	for _, n := range sizes {
		// A subtest per size, so that its tether process is stopped before
		// the next size starts.
		t.Run(fmt.Sprintf("%d apps", n), func(t *testing.T) {
			ceiling := measureCeiling(t, c, n)
			rows = append(rows, measureTether(t, c, srv, n, ceiling))
		})
	}
	table := "| apps x objects | API server SSA ceiling (objects/s) | Tether: time to all Ready | Tether objects/s | ratio to ceiling | reconciles/s | API requests by verb (Tether) | Tether peak RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n" + strings.Join(rows, "\n") + "\n"
	t.Log("\n" + table)
	if out := os.Getenv("TETHER_BENCH_OUT_KUSTOMIZE"); out != "" {
		_ = os.WriteFile(out, []byte(table), 0o644)
	}
}

// measureCeiling applies n x 10 ConfigMaps with server-side apply from 16
// workers, the API server's own ceiling on this machine.
func measureCeiling(t *testing.T, c client.Client, n int) float64 {
	ctx := context.Background()
	ns := fmt.Sprintf("ceiling-%d", n)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	total := n * objectsPerApp
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				cm := &corev1.ConfigMap{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Namespace: ns},
					Data:       map[string]string{"key": "value"},
				}
				if err := c.Patch(ctx, cm, client.Apply, client.FieldOwner("ceiling"), client.ForceOwnership); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds()
}

func measureTether(t *testing.T, c client.Client, srv *gitserver.Server, n int, ceiling float64) string {
	ctx := context.Background()
	name := fmt.Sprintf("apps-%d", n)
	repo := srv.CreateRepo(t, name)
	files := map[string]string{}
	for a := range n {
		for o := range objectsPerApp {
			files[fmt.Sprintf("apps/app-%04d/cm-%02d.yaml", a, o)] = fmt.Sprintf(
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%04d-cm-%02d\ndata:\n  key: value\n", a, o)
		}
	}
	repo.Commit(t, "master", files, "apps")
	ns := name
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	tether := testenv.StartTether(t, env, "--url-rewrite", "https://bench.example.com/="+srv.URL+"/",
		"--concurrent", "16", "--kube-api-qps", "500", "--kube-api-burst", "1000", "--log-level", "info")
	auditBefore, _ := env.AuditEvents()

	start := time.Now()
	gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: "https://bench.example.com/" + name + ".git", Interval: metav1.Duration{Duration: 10 * time.Minute}}}
	if err := c.Create(ctx, gr); err != nil {
		t.Fatal(err)
	}
	for a := range n {
		ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%04d", a), Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{
				Interval: metav1.Duration{Duration: 10 * time.Minute}, Path: fmt.Sprintf("./apps/app-%04d", a), Prune: true,
				TargetNamespace: ns, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "apps"},
			}}
		if err := c.Create(ctx, ks); err != nil {
			t.Fatal(err)
		}
	}
	peak := int64(0)
	deadline := time.Now().Add(30 * time.Minute)
	for {
		if rss := peakRSS(tether.Cmd.Process.Pid); rss > peak {
			peak = rss
		}
		var list kustomizev1.KustomizationList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if apimeta.IsStatusConditionTrue(list.Items[i].Status.Conditions, "Ready") {
				ready++
			}
		}
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Kustomizations Ready after 30 minutes", ready, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	took := time.Since(start)
	auditAfter, _ := env.AuditEvents()
	verbs := map[string]int{}
	for _, e := range auditAfter[len(auditBefore):] {
		if strings.HasPrefix(e.UserAgent, "tether") {
			verb := e.Verb
			if strings.Contains(e.RequestURI, "dryRun=All") {
				verb += "(dry-run)"
			}
			verbs[verb]++
		}
	}
	objs := float64(n*objectsPerApp) / took.Seconds()
	return fmt.Sprintf("| %d x %d | %.0f | %s | %.0f | %.2f | %.1f | %s | %d MiB |", n, objectsPerApp, ceiling,
		took.Round(100*time.Millisecond), objs, objs/ceiling, float64(n)/took.Seconds(), formatVerbs(verbs), peak>>10)
}

// peakRSS returns the peak resident set size of pid in KiB (VmHWM).
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return v
		}
	}
	return 0
}

func formatVerbs(verbs map[string]int) string {
	var parts []string
	for _, v := range []string{"get", "list", "watch", "create", "patch", "patch(dry-run)", "update", "delete"} {
		if verbs[v] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, verbs[v]))
		}
	}
	return strings.Join(parts, ", ")
}

// Package gitfetch measures how many Git fetches Tether makes when many
// GitRepositories point at one repository, against a real control plane,
// `tether run` and a real Git server. Run it with `make bench`
// (TETHER_BENCH=1); plain `go test` skips it.
package gitfetch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/bench/internal/harness"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "Git fetch", testenv.Options{}, &env))
}

// round is one measurement: n GitRepositories on one URL and branch.
type round struct {
	consumers   int
	uploadPacks int
	refAdverts  int
	bytesOut    int64
	toReady     time.Duration
	// after a push: how long until every consumer has the new revision,
	// and the fetches that took.
	pushUploadPacks int
	toNewRevision   time.Duration
}

func TestGitFetchSharing(t *testing.T) {
	ctx := context.Background()
	crds, _ := filepath.Glob("../../config/crd/bases/source.toolkit.fluxcd.io_*.yaml")
	if err := testenv.InstallCRDs(ctx, env.Config, crds...); err != nil {
		t.Fatal(err)
	}
	c, err := env.Client()
	if err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	testenv.StartTether(t, env, "--url-rewrite", "https://bench.example.com/="+srv.URL+"/", "--concurrent", "8", "--log-level", "info")

	var rounds []round
	for _, n := range []int{1, 50, 500} {
		rounds = append(rounds, measure(t, c, srv, n))
	}
	report(t, rounds)
}

func measure(t *testing.T, c client.Client, srv *gitserver.Server, n int) round {
	ctx := context.Background()
	name := fmt.Sprintf("bench-%d", n)
	repo := srv.CreateRepo(t, name)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("deploy/cm-%02d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d}\ndata: {k: %q}\n", i, strings.Repeat("v", 2048))
	}
	repo.Commit(t, "master", files, "init")
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	before := stats(srv, name)
	for i := range n {
		gr := &sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("r-%03d", i), Namespace: name},
			Spec: sourcev1.GitRepositorySpec{
				URL: "https://bench.example.com/" + name + ".git", Interval: metav1.Duration{Duration: 30 * time.Second},
				Reference: &sourcev1.GitRepositoryRef{Branch: "master"},
			},
		}
		if err := c.Create(ctx, gr); err != nil {
			t.Fatal(err)
		}
	}
	waitAll(t, c, name, n, func(r *sourcev1.GitRepository) bool {
		return apimeta.IsStatusConditionTrue(r.Status.Conditions, "Ready")
	})
	r := round{consumers: n, toReady: time.Since(start)}
	after := stats(srv, name)
	r.uploadPacks, r.refAdverts, r.bytesOut = after.uploadPacks-before.uploadPacks, after.refAdverts-before.refAdverts, after.bytes-before.bytes

	head := repo.Commit(t, "master", map[string]string{"deploy/extra.yaml": "kind: ConfigMap\n"}, "push")
	start = time.Now()
	waitAll(t, c, name, n, func(r *sourcev1.GitRepository) bool {
		return r.Status.Artifact != nil && strings.HasSuffix(r.Status.Artifact.Revision, head)
	})
	r.toNewRevision = time.Since(start)
	r.pushUploadPacks = stats(srv, name).uploadPacks - after.uploadPacks
	return r
}

type serverStats struct {
	uploadPacks, refAdverts int
	bytes                   int64
}

func stats(srv *gitserver.Server, repo string) serverStats {
	var s serverStats
	for _, r := range srv.Requests() {
		if !strings.Contains(r.Path, "/"+repo+".git/") {
			continue
		}
		s.bytes += r.BytesOut
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/info/refs") {
			s.refAdverts++
		}
	}
	s.uploadPacks = srv.UploadPacks(repo)
	return s
}

func waitAll(t *testing.T, c client.Client, ns string, n int, done func(*sourcev1.GitRepository) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var list sourcev1.GitRepositoryList
		if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		count := 0
		for i := range list.Items {
			if done(&list.Items[i]) {
				count++
			}
		}
		if count == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not all %d GitRepositories done in 10 minutes", ns, n)
}

// report prints the table for bench/README.md. Ratios compare with what
// one fetch per consumer (no sharing) would cost, measured in the same
// run: the 1-consumer round gives the cost of one fetch.
func report(t *testing.T, rounds []round) {
	one := rounds[0]
	var b strings.Builder
	fmt.Fprintln(&b, "| consumers | upload-packs (initial) | ref advertisements | bytes served | bytes vs one fetch each | time to all Ready | upload-packs after a push | time to new revision |")
	fmt.Fprintln(&b, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rounds {
		naive := one.bytesOut * int64(r.consumers)
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %.3f | %s | %d | %s |\n", r.consumers, r.uploadPacks, r.refAdverts, r.bytesOut,
			float64(r.bytesOut)/float64(naive), r.toReady.Round(10*time.Millisecond), r.pushUploadPacks, r.toNewRevision.Round(10*time.Millisecond))
	}
	t.Log("\n" + b.String())
	if out := os.Getenv("TETHER_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// ObjectsPerApp is how many ConfigMaps each app of AppFiles holds.
const ObjectsPerApp = 10

// RepoHost is the URL prefix the benchmarks' sources use; TetherArgs
// rewrites it to the loopback Git server, as a mirror would be.
const RepoHost = "https://bench.example.com/"

// Sizes returns the numbers of apps to measure: the comma-separated list
// in TETHER_BENCH_APPS when set, defaults otherwise.
func Sizes(defaults ...int) []int {
	s := os.Getenv("TETHER_BENCH_APPS")
	if s == "" {
		return defaults
	}
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// AppPath is the folder of app a in AppFiles.
func AppPath(a int) string {
	return fmt.Sprintf("apps/app-%04d", a)
}

// AppFiles is a tree of n folders (AppPath) of ObjectsPerApp ConfigMaps
// each, without namespaces; names are unique across apps, so every app
// may deploy to one namespace.
func AppFiles(n int) map[string]string {
	files := map[string]string{}
	for a := range n {
		for o := range ObjectsPerApp {
			files[fmt.Sprintf("%s/cm-%02d.yaml", AppPath(a), o)] = fmt.Sprintf(
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%04d-cm-%02d\ndata:\n  key: value\n", a, o)
		}
	}
	return files
}

// TetherArgs are the `tether run` flags every benchmark uses: RepoHost
// served by srv, 16 workers per kind, an API rate of 500 requests per
// second (burst 1,000), and Git bounds that fit 10,000 apps in one
// repository (100,000 files: over the default --git-max-files, and
// slower to clone than the default --git-timeout), plus extra. TETHER_BENCH_PPROF_ADDR (such as
// 127.0.0.1:6060) serves Go's profiler from the tether process, to see
// where its time goes during a run. TETHER_BENCH_MEMORY_LIMIT (such as
// 900Mi) is passed as --memory-limit, as a container limit would set it.
func TetherArgs(srv *gitserver.Server, extra ...string) []string {
	args := []string{"--url-rewrite", RepoHost + "=" + srv.URL + "/",
		"--concurrent", "16", "--kube-api-qps", "500", "--kube-api-burst", "1000", "--log-level", "info",
		"--git-max-files", "1000000", "--git-timeout", "10m"}
	if addr := os.Getenv("TETHER_BENCH_PPROF_ADDR"); addr != "" {
		args = append(args, "--pprof-addr", addr)
	}
	if limit := os.Getenv("TETHER_BENCH_MEMORY_LIMIT"); limit != "" {
		args = append(args, "--memory-limit", limit)
	}
	return append(args, extra...)
}

// Measure measures Tether on one size: n apps from the round's repository.
type Measure func(t *testing.T, c client.Client, r *Round) Result

// Scale installs Tether's CRDs, starts a Git server and measures each of
// Sizes(defaults...) in a subtest of its own, so that its tether process
// stops before the next size starts: first the API server's ceiling for
// the same number of objects, then Tether with measure.
func Scale(t *testing.T, env *testenv.Env, measure Measure, defaults ...int) []Result {
	t.Helper()
	return ScaleAs(t, env, "apps", measure, defaults...)
}

// ScaleAs is Scale with the rounds named "<prefix>-<n>" (repository and
// destination namespace), so that two variants measured in one run never
// find each other's objects already in place.
func ScaleAs(t *testing.T, env *testenv.Env, prefix string, measure Measure, defaults ...int) []Result {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// tether run serves every kind, so it needs every CRD.
	crds, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err := testenv.InstallCRDs(context.Background(), env.Config, crds...); err != nil {
		t.Fatal(err)
	}
	c, err := env.Client()
	if err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	var results []Result
	for _, n := range Sizes(defaults...) {
		t.Run(fmt.Sprintf("%d apps", n), func(t *testing.T) {
			ceiling := Ceiling(t, env.Config, n*ObjectsPerApp)
			validated := ValidatedCeiling(t, env.Config, n*ObjectsPerApp)
			res := measure(t, c, start(t, env, c, srv, prefix, n))
			res.Apps, res.Ceiling, res.ValidatedCeiling = n, ceiling, validated
			results = append(results, res)
		})
	}
	return results
}

// Round is one size being measured.
type Round struct {
	// Apps is how many apps to create.
	Apps int
	// Name ("apps-<n>", or the prefix given to ScaleAs) names the
	// repository and the namespace the apps deploy to.
	Name string
	// URL is the repository's URL, under RepoHost.
	URL string
	// Head is the commit holding AppFiles(Apps).
	Head string
	// Tether is the running `tether run`.
	Tether *testenv.Tether

	env   *testenv.Env
	mark  int
	start time.Time
}

// start commits AppFiles(n) to a new repository, creates the namespace,
// starts tether and starts the clock.
func start(t *testing.T, env *testenv.Env, c client.Client, srv *gitserver.Server, prefix string, n int) *Round {
	name := fmt.Sprintf("%s-%d", prefix, n)
	repo := srv.CreateRepo(t, name)
	r := &Round{Apps: n, Name: name, URL: RepoHost + name + ".git", Head: repo.Commit(t, "master", AppFiles(n), "apps"), env: env}
	if err := CreateNamespace(c, name); err != nil {
		t.Fatal(err)
	}
	r.Tether = testenv.StartTether(t, env, TetherArgs(srv)...)
	r.mark = AuditMark(t, env)
	r.start = time.Now()
	return r
}

// Await waits until count reports every app done (see the function Await)
// and returns the time since the round started, Tether's requests meanwhile
// and its peak RSS.
func (r *Round) Await(t *testing.T, count func() (done int, summary string)) Result {
	t.Helper()
	peak := Await(t, r.Tether, r.Apps, 30*time.Minute, count)
	took := time.Since(r.start)
	return Result{Apps: r.Apps, Took: took, Requests: TetherRequests(t, r.env, r.mark), PeakKiB: peak}
}

// CreateNamespace creates namespace name unless it exists.
func CreateNamespace(c client.Client, name string) error {
	err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// Main runs a benchmark package's tests on a cluster of its own started
// with opts, or skips them, saying so, unless TETHER_BENCH is set: plain
// `go test ./...` runs no benchmark. what names the benchmark.
func Main(m *testing.M, what string, opts testenv.Options, env **testenv.Env) int {
	if os.Getenv("TETHER_BENCH") == "" {
		fmt.Printf("skipping the %s benchmark: set TETHER_BENCH=1 (make bench)\n", what)
		return 0
	}
	return testenv.Main(m, opts, env)
}

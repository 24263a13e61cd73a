// Package helmreleases measures Tether installing many Flux HelmReleases
// of one chart, against a real control plane, beside the figures Flux
// publishes for the same test (fluxcd/flux-benchmark, RESULTS.md). Run it
// with `make bench` (TETHER_BENCH=1); plain `go test` skips it.
//
// The layout is Flux's benchmark: the chart podinfo pushed once to an OCI
// registry (here an in-process one on loopback), one HelmRepository of type
// oci pointing at it, and N HelmReleases of that chart with replicaCount 0,
// each of which makes a HelmChart of its own, as Flux's helm-controller
// does. A release is done when its HelmRelease is Ready.
//
// TETHER_BENCH_HELM_VARIANT runs a variant, to find out where the time
// goes: "spread" installs each release into a namespace of its own
// (spec.targetNamespace, created by the install; the HelmReleases and
// Helm's release records stay in one namespace), "nowait" turns Helm's
// wait for the release's objects off (spec.install.disableWait).
package helmreleases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/bench/internal/harness"
	"github.com/tether-gitops/tether/internal/chartserve"
	"github.com/tether-gitops/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "HelmRelease", testenv.Options{Audit: true}, &env))
}

// chartVersion is the version podinfo is pushed as; the HelmReleases ask
// for it exactly.
const chartVersion = "6.0.1"

// flux holds Flux's published helm-controller figures (flux-benchmark
// RESULTS.md, Flux v2.5.0 and v2.6.0: 16-core GitHub runner, 3-node Kind
// cluster, helm-controller with 2 CPUs, 1 GiB and --concurrent 10).
var flux = map[int]struct {
	took time.Duration
	mib  int
}{
	100:  {27 * time.Second, 190},
	500:  {2*time.Minute + 45*time.Second, 240},
	1000: {8*time.Minute + 12*time.Second, 400},
}

// round is what one size measured beyond harness.Result.
type round struct {
	harness.Result
	// FromCreate is the time from creating the first HelmRelease until
	// all were Ready (Result.Took counts from tether's start).
	FromCreate time.Duration
	// Charts is how many HelmCharts the round's namespace holds.
	Charts int
	// Pulls is how many times the chart's manifest was fetched from the
	// registry; RegistryRequests counts every registry request.
	Pulls, RegistryRequests int
	// CPU is the CPU time each process used during the round, by name.
	CPU map[string]time.Duration
	// MachineBusy is the share of the machine's CPU time (all cores, all
	// processes) that was busy during the round.
	MachineBusy float64
}

func TestHelmReleaseScale(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var registryRequests atomic.Int64
	reg, err := chartserve.NewRegistry(chartserve.RegistryOptions{Logf: func(format string, args ...any) {
		if strings.Contains(fmt.Sprintf(format, args...), " /v2/") {
			registryRequests.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ref, _, err := reg.PushChart(ctx, filepath.Join(root, "test", "e2e", "testdata", "charts", "podinfo"), chartVersion)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %s", ref)

	var rounds []round
	results := harness.Scale(t, env, func(t *testing.T, c client.Client, r *harness.Round) harness.Result {
		reg.ResetRequests()
		registryRequests.Store(0)
		rd := measureTether(t, c, r, reg, func() (int, int) {
			return reg.Requests(fmt.Sprintf("/v2/charts/podinfo/manifests/%s", chartVersion)), int(registryRequests.Load())
		})
		rounds = append(rounds, rd)
		return rd.Result
	}, 100, 1000)
	// Scale fills in the API server's ceiling after measure returns.
	for i := range min(len(rounds), len(results)) {
		rounds[i].Ceiling = results[i].Ceiling
	}
	harness.Report(t, "TETHER_BENCH_OUT_HELMRELEASES", table(rounds))
}

// measureTether creates the HelmRepository and r.Apps HelmReleases in the
// round's namespace and waits until every HelmRelease is Ready; registry
// counts the chart's manifest fetches and all registry requests so far.
func measureTether(t *testing.T, c client.Client, r *harness.Round, reg *chartserve.Registry, registry func() (pulls, all int)) round {
	ctx := context.Background()
	ns := r.Name
	pids := processes(r.Tether.Cmd.Process.Pid)
	cpuBefore := cpuTimes(pids)
	busyBefore, allBefore := machineCPU()
	// The next size starts without this one's objects: stop tether, then
	// let go of them, so that the next tether does not reconcile them.
	t.Cleanup(func() { release(t, c, r, ns) })

	repo := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: reg.URL(), Type: "oci", Insecure: true, Interval: metav1.Duration{Duration: time.Hour}}}
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range r.Apps {
		if err := c.Create(ctx, helmRelease(ns, i, os.Getenv("TETHER_BENCH_HELM_VARIANT"))); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d HelmReleases created in %s", r.Apps, time.Since(start).Round(100*time.Millisecond))
	res := r.Await(t, func() (int, string) {
		hrs := list(t, c, ns)
		return countReady(hrs), summarize(hrs)
	})
	rd := round{Result: res, FromCreate: time.Since(start), CPU: map[string]time.Duration{}}
	cpuAfter := cpuTimes(pids)
	for pid, name := range pids {
		rd.CPU[name] += cpuAfter[pid] - cpuBefore[pid]
	}
	busy, all := machineCPU()
	if all > allBefore {
		rd.MachineBusy = (busy - busyBefore) / (all - allBefore)
	}
	var charts sourcev1.HelmChartList
	if err := c.List(ctx, &charts, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	rd.Charts = len(charts.Items)
	rd.Pulls, rd.RegistryRequests = registry()
	explain(t, list(t, c, ns), rd, r)
	return rd
}

// helmRelease is HelmRelease i of the round: podinfo from the OCI
// HelmRepository, scaled to zero, as in Flux's benchmark; variant is
// "", "spread" or "nowait" (see the package's doc).
func helmRelease(ns string, i int, variant string) *helmv2.HelmRelease {
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("hr-%04d", i), Namespace: ns},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart:     "podinfo",
				Version:   chartVersion,
				SourceRef: &helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "podinfo"},
			}},
			Values: &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount":0}`)},
		},
	}
	switch variant {
	case "spread":
		hr.Spec.TargetNamespace = fmt.Sprintf("%s-%s", ns, hr.Name)
		hr.Spec.Install = &helmv2.Install{CreateNamespace: true}
	case "nowait":
		hr.Spec.Install = &helmv2.Install{DisableWait: true}
	}
	return hr
}

func list(t *testing.T, c client.Client, ns string) []helmv2.HelmRelease {
	t.Helper()
	var hrs helmv2.HelmReleaseList
	if err := c.List(context.Background(), &hrs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return hrs.Items
}

func ready(hr *helmv2.HelmRelease) *metav1.Condition {
	for i := range hr.Status.Conditions {
		if hr.Status.Conditions[i].Type == "Ready" {
			return &hr.Status.Conditions[i]
		}
	}
	return nil
}

// countReady counts the HelmReleases that are Ready for their generation.
func countReady(hrs []helmv2.HelmRelease) int {
	n := 0
	for i := range hrs {
		if c := ready(&hrs[i]); c != nil && c.Status == metav1.ConditionTrue && hrs[i].Status.ObservedGeneration == hrs[i].Generation {
			n++
		}
	}
	return n
}

// summarize counts the HelmReleases by Ready status and reason, "True/
// InstallSucceeded 40, Unknown/Progressing 10, -/- 50".
func summarize(hrs []helmv2.HelmRelease) string {
	counts := map[string]int{}
	for i := range hrs {
		k := "-/-"
		if c := ready(&hrs[i]); c != nil {
			k = string(c.Status) + "/" + c.Reason
		}
		counts[k]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// explain logs where the time went: creation to release, the install
// action's own duration, failures, requests by resource and user agent,
// registry traffic and CPU time by process.
func explain(t *testing.T, hrs []helmv2.HelmRelease, rd round, r *harness.Round) {
	var waits, installs []time.Duration
	failures := 0
	for i := range hrs {
		hr := &hrs[i]
		if l := hr.Status.History.Latest(); l != nil {
			waits = append(waits, l.FirstDeployed.Sub(hr.CreationTimestamp.Time))
		}
		if d := hr.Status.LastAttemptedReleaseActionDuration; d != nil {
			installs = append(installs, d.Duration)
		}
		if hr.Status.Failures > 0 || hr.Status.InstallFailures > 0 {
			failures++
		}
	}
	t.Logf("%d HelmReleases: creation to release deployed %s; install action %s; %d with failures",
		rd.Apps, spread(waits), spread(installs), failures)
	t.Logf("%d HelmCharts; chart manifest fetched %d times, %d registry requests in all", rd.Charts, rd.Pulls, rd.RegistryRequests)
	var cpu []string
	for name, d := range rd.CPU {
		cpu = append(cpu, fmt.Sprintf("%s %s", name, d.Round(100*time.Millisecond)))
	}
	sort.Strings(cpu)
	t.Logf("CPU time during the round (wall %s): %s; the machine's cores were %.0f %% busy",
		rd.Took.Round(100*time.Millisecond), strings.Join(cpu, ", "), 100*rd.MachineBusy)
	t.Logf("tether's requests by verb and resource:\n%s", rd.Requests.Detail(rd.Apps))
	logs := r.Tether.Logs.String()
	for _, s := range []string{"reconcile failed", "release failed", "Reconciler error"} {
		t.Logf("tether logged %q %d times", s, strings.Count(logs, s))
	}
	shown := 0
	for line := range strings.SplitSeq(logs, "\n") {
		if (strings.Contains(line, "reconcile failed") || strings.Contains(line, "release failed") ||
			strings.Contains(line, "Reconciler error")) && shown < 3 {
			t.Log(line)
			shown++
		}
	}
}

// spread is "median 1s, p90 3s, max 5s" of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return fmt.Sprintf("median %s, p90 %s, max %s", ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1])
}

// release stops the round's tether and deletes the round's HelmReleases,
// HelmCharts and HelmRepository without their finalizers: their releases
// stay installed, and the next size's tether has nothing of this one to
// reconcile.
func release(t *testing.T, c client.Client, r *harness.Round, ns string) {
	ctx := context.Background()
	pid := r.Tether.Cmd.Process.Pid
	_ = r.Tether.Cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(15 * time.Second); !stopped(pid) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	noFinalizers := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
	lists := []client.ObjectList{&helmv2.HelmReleaseList{}, &sourcev1.HelmChartList{}, &sourcev1.HelmRepositoryList{}}
	for _, l := range lists {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Error(err)
			continue
		}
		var objs []client.Object
		switch l := l.(type) {
		case *helmv2.HelmReleaseList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case *sourcev1.HelmChartList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case *sourcev1.HelmRepositoryList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		}
		for _, o := range objs {
			if err := c.Patch(ctx, o, noFinalizers); client.IgnoreNotFound(err) != nil {
				t.Error(err)
			}
			if err := c.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
				t.Error(err)
			}
		}
	}
}

// stopped reports whether pid has ended (a child nobody has waited for
// yet stays a zombie).
func stopped(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, ok := strings.Cut(string(data), ") ")
	return !ok || strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

// processes names tether, this test and the control plane's processes by
// pid.
func processes(tether int) map[int]string {
	pids := map[int]string{tether: "tether", os.Getpid(): "this test"}
	for _, pid := range env.Pids() {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil {
			pids[pid] = strings.TrimSpace(string(comm))
		}
	}
	return pids
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTicks = 100

// cpuTimes reads the user and system CPU time of each pid.
func cpuTimes(pids map[int]string) map[int]time.Duration {
	out := map[int]time.Duration{}
	for pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(data), ") ")
		if !ok {
			continue
		}
		// rest starts at field 3 (state); utime and stime are fields 14
		// and 15.
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(u+s) * time.Second / clockTicks
	}
	return out
}

// machineCPU returns the busy and total CPU time of every core so far,
// in ticks (the first line of /proc/stat; idle and iowait are not busy).
func machineCPU() (busy, all float64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i >= 8 { // guest times are already in user and nice
			break
		}
		all += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, all
}

// table is the Markdown table of rounds, with Flux's published figures
// beside Tether's.
func table(rounds []round) string {
	var b strings.Builder
	b.WriteString("| HelmReleases | Tether: time to all Ready | Flux (published) | Tether / Flux time | Tether peak RSS | Flux peak memory (published) | Tether / Flux memory | HelmCharts | API requests per release | API requests by verb (Tether) | API server SSA ceiling (objects/s) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rounds {
		total := 0
		for _, n := range r.Requests.ByVerb {
			total += n
		}
		mib := r.PeakKiB >> 10
		fluxTook, fluxMem, timeRatio, memRatio := "-", "-", "-", "-"
		if f, ok := flux[r.Apps]; ok {
			fluxTook, fluxMem = f.took.String(), fmt.Sprintf("%d MiB", f.mib)
			timeRatio = fmt.Sprintf("%.2f", r.FromCreate.Seconds()/f.took.Seconds())
			memRatio = fmt.Sprintf("%.2f", float64(mib)/float64(f.mib))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %d MiB | %s | %s | %d | %.1f | %s | %.0f |\n", r.Apps,
			r.FromCreate.Round(100*time.Millisecond), fluxTook, timeRatio, mib, fluxMem, memRatio, r.Charts,
			float64(total)/float64(max(r.Apps, 1)), r.Requests, r.Ceiling)
	}
	return b.String()
}

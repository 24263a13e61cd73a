// Package api measures Tether's API server against a real control plane:
// listing N Applications (TETHER_BENCH_APPS, default 1000) through the API
// as an admin and as a project-role token (RBAC evaluated for every app),
// beside the Kubernetes API server's own LIST of the same Applications
// measured in the same run; and the delay from an Application's change to
// its event on the API's stream. The API runs as `tether server` (no
// controllers), so the Applications need no Git and nothing else competes.
// Run it with `make bench` (TETHER_BENCH=1); plain `go test` skips it.
package api

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/bench/internal/harness"
	tetherscheme "github.com/tether-gitops/tether/internal/scheme"
	"github.com/tether-gitops/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "API", testenv.Options{}, &env))
}

// samples is how many timed requests make each percentile.
const samples = 50

func TestAPIListAndStream(t *testing.T) {
	n := harness.Sizes(1000)[0]
	ctx := context.Background()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	crds, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err := testenv.InstallCRDs(ctx, env.Config, crds...); err != nil {
		t.Fatal(err)
	}
	c := fastClient(t, env.Config)
	if err := harness.CreateNamespace(c, "argocd"); err != nil {
		t.Fatal(err)
	}
	createApps(t, c, n)
	applyProject(t, c)

	tether := testenv.StartTetherServer(t, env, "--log-level", "info")
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	api := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed
	var initial corev1.Secret
	deadline := time.Now().Add(time.Minute)
	for c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-initial-admin-secret"}, &initial) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no argocd-initial-admin-secret")
		}
		time.Sleep(200 * time.Millisecond)
	}
	admin := login(t, api, base, string(initial.Data["password"]))
	project := projectToken(t, api, base, admin)

	// Warm: the cache holds every app.
	for got := 0; got != n; {
		got = count(t, api, base+"/api/v1/applications", admin)
		if got != n && time.Now().After(deadline.Add(5*time.Minute)) {
			t.Fatalf("the API lists %d of %d apps", got, n)
		}
	}
	kube := timed(t, func() { kubeList(t, c, n) })
	asAdmin := timed(t, func() { count(t, api, base+"/api/v1/applications", admin) })
	asProject := timed(t, func() {
		if got := count(t, api, base+"/api/v1/applications", project); got != n/10 {
			t.Fatalf("the project token lists %d apps, want %d", got, n/10)
		}
	})
	paged := timed(t, func() { count(t, api, base+"/api/v1/applications?limit=100", admin) })
	stream := streamDelay(t, api, base, admin, c)
	unified := timed(t, func() { count(t, api, base+"/api/v1/apps?limit=50", admin) })
	ui := measureUI(t, base, string(initial.Data["password"]), n)

	table := fmt.Sprintf(`| %d Applications | p50 | p99 | ratio of p50 to the API server's LIST |
| --- | --- | --- | --- |
| Kubernetes API server: LIST applications (the same objects) | %s | %s | 1 |
| Tether API: GET /api/v1/applications as admin | %s | %s | %.2f |
| Tether API: the same as a project token (sees %d) | %s | %s | %.2f |
| Tether API: first page of 100 (limit=100) | %s | %s | %.2f |
| stream: change -> event on /api/v1/stream/applications | %s | %s | - |
| UI's list: GET /api/v1/apps?limit=50 (every kind, filtered and paged on the server) | %s | %s | %.2f |
| browser (%d samples): first paint of the UI's list, navigation start -> first frame with rows | %s | %s | %.2f |
| browser: a filter (health Degraded, %d apps), click -> first frame with them | %s | %s | %.2f |

The page's JavaScript heap after the list and a filter: %.1f MiB (Chromium's performance.memory). Target: first paint and a filter each under 1 s.
`, n, kube.p50, kube.p99, asAdmin.p50, asAdmin.p99, ratio(asAdmin.p50, kube.p50),
		n/10, asProject.p50, asProject.p99, ratio(asProject.p50, kube.p50),
		paged.p50, paged.p99, ratio(paged.p50, kube.p50), stream.p50, stream.p99,
		unified.p50, unified.p99, ratio(unified.p50, kube.p50),
		uiSamples, ui.firstPaint.p50, ui.firstPaint.p99, ratio(ui.firstPaint.p50, kube.p50),
		n/10, ui.filter.p50, ui.filter.p99, ratio(ui.filter.p50, kube.p50), ui.heapMiB)
	harness.Report(t, "TETHER_BENCH_OUT_API", table)
	saveJSON(t, n, map[string]any{"kubeList": kube, "apiListAdmin": asAdmin, "apiListProjectToken": asProject, "apiListPage100": paged, "streamDelay": stream,
		"uiListAPI": unified, "uiFirstPaint": ui.firstPaint, "uiFilter": ui.filter, "uiHeapMiB": ui.heapMiB})
}

type percentiles struct {
	p50, p99 time.Duration
}

func (p percentiles) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]float64{"p50Seconds": p.p50.Seconds(), "p99Seconds": p.p99.Seconds()})
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

// timed runs f samples times and returns its p50 and p99.
func timed(t *testing.T, f func()) percentiles {
	t.Helper()
	d := make([]time.Duration, 0, samples)
	for range samples {
		start := time.Now()
		f()
		d = append(d, time.Since(start))
	}
	return percentilesOf(d)
}

func percentilesOf(d []time.Duration) percentiles {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return percentiles{p50: d[len(d)/2], p99: d[(len(d)*99+99)/100-1]}
}

// fastClient is a client without a client-side rate limit.
func fastClient(t *testing.T, cfg *rest.Config) client.Client {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	c, err := client.New(cfg, client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createApps creates n Applications from 16 workers; every tenth is in
// project "team", the rest in "default".
func createApps(t *testing.T, c client.Client, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				project := "default"
				if i%10 == 0 {
					project = "team"
				}
				app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%05d", i), Namespace: "argocd"},
					Spec: argov1.ApplicationSpec{Project: project,
						Source:      &argov1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: fmt.Sprintf("apps/%05d", i), TargetRevision: "HEAD"},
						Destination: argov1.ApplicationDestination{Server: argov1.KubernetesInternalAPIServerAddr, Namespace: "apps"}}}
				if err := c.Create(context.Background(), app); err != nil {
					t.Error(err)
					return
				}
				// A status as the controller would write it: every tenth
				// (from the fourth) Degraded and OutOfSync, the rest
				// Synced and Healthy; the UI's filters count on it.
				app.Status = argov1.ApplicationStatus{Sync: argov1.SyncStatus{Status: argov1.SyncStatusCodeSynced, Revision: "0123456789abcdef0123456789abcdef01234567"},
					Health: argov1.HealthStatus{Status: argov1.HealthStatusHealthy}}
				if i%10 == 3 {
					app.Status.Sync.Status, app.Status.Health = argov1.SyncStatusCodeOutOfSync, argov1.HealthStatus{Status: argov1.HealthStatusDegraded, Message: "Deployment web: 0 of 1 replicas available"}
				}
				if err := c.Status().Update(context.Background(), app); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func applyProject(t *testing.T, c client.Client) {
	p := &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "argocd"},
		Spec: argov1.AppProjectSpec{SourceRepos: []string{"*"}, Destinations: []argov1.ApplicationDestination{{Server: "*", Namespace: "*"}},
			Roles: []argov1.ProjectRole{{Name: "reader", Policies: []string{"p, proj:team:reader, applications, get, team/*, allow"}}}}}
	if err := c.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func kubeList(t *testing.T, c client.Client, n int) {
	var list argov1.ApplicationList
	if err := c.List(context.Background(), &list, client.InNamespace("argocd")); err != nil || len(list.Items) != n {
		t.Fatalf("LIST: %d items, %v", len(list.Items), err)
	}
}

func call(t *testing.T, api *http.Client, method, url, token, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := api.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s %v", method, url, resp.StatusCode, data, err)
	}
	return data
}

func login(t *testing.T, api *http.Client, base, password string) string {
	var out struct{ Token string }
	if err := json.Unmarshal(call(t, api, "POST", base+"/api/v1/session", "", `{"username":"admin","password":"`+password+`"}`), &out); err != nil {
		t.Fatal(err)
	}
	return out.Token
}

func projectToken(t *testing.T, api *http.Client, base, admin string) string {
	var out struct{ Token string }
	if err := json.Unmarshal(call(t, api, "POST", base+"/api/v1/projects/team/roles/reader/token", admin, `{}`), &out); err != nil {
		t.Fatal(err)
	}
	return out.Token
}

// count lists and returns how many items the answer holds.
func count(t *testing.T, api *http.Client, url, token string) int {
	t.Helper()
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(call(t, api, "GET", url, token, ""), &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// streamDelay opens the application stream for one app and measures, for
// each of samples annotation changes, the time from sending the change to
// the Kubernetes API server to the event's arrival on the stream.
func streamDelay(t *testing.T, api *http.Client, base, admin string, c client.Client) percentiles {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/stream/applications?name=app-00001", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := api.Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	marks := make(chan string, samples+1)
	go func() {
		scanner := bufio.NewScanner(resp.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			if line, ok := strings.CutPrefix(scanner.Text(), "data: "); ok {
				var e struct {
					Result struct{ Application argov1.Application }
				}
				if json.Unmarshal([]byte(line), &e) == nil {
					marks <- e.Result.Application.Annotations["bench/mark"]
				}
			}
		}
	}()
	<-marks // the snapshot
	var d []time.Duration
	for i := range samples {
		want := fmt.Sprint(i)
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"bench/mark":"`+want+`"}}}`))
		app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: "app-00001", Namespace: "argocd"}}
		start := time.Now()
		if err := c.Patch(context.Background(), app, patch); err != nil {
			t.Fatal(err)
		}
		for got := ""; got != want; {
			select {
			case got = <-marks:
			case <-time.After(30 * time.Second):
				t.Fatalf("no stream event for change %s", want)
			}
		}
		d = append(d, time.Since(start))
	}
	return percentilesOf(d)
}

func saveJSON(t *testing.T, n int, figures map[string]any) {
	dir := os.Getenv("TETHER_BENCH_RESULTS_DIR")
	if dir == "" {
		return
	}
	data, err := json.MarshalIndent(map[string]any{"benchmark": "api", "date": time.Now().UTC().Format(time.DateOnly), "apps": n, "samples": samples, "figures": figures}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("api-%d.json", n)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func scheme(t *testing.T) *runtime.Scheme {
	s, err := tetherscheme.New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Package applications measures Tether syncing many Argo CD Applications
// of 10 objects each from one Git repository, against a real control
// plane, beside the API server's own server-side-apply ceiling measured in
// the same run. Run it with `make bench` (TETHER_BENCH=1); plain `go test`
// skips it.
//
// The layout is the one Argo CD users generate with an ApplicationSet's Git
// directory generator: one repository, one folder per app, one Application
// per folder in the argocd namespace, with automated sync (prune and
// selfHeal). Every app deploys to one shared destination namespace, as the
// Kustomization benchmark does, so the two and the ceiling apply the same
// objects.
//
// TestApplicationScale names the destination as most single-cluster users
// do (https://kubernetes.default.svc); TestApplicationScaleClusterSecret
// names it through an Argo CD cluster Secret pointing at the same API
// server, as users register every other cluster, so the two figures show
// what a registered cluster costs. TETHER_BENCH_DESTINATION=in-cluster or
// cluster-secret runs one of them alone.
package applications

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/bench/internal/harness"
	"github.com/tether-gitops/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "Application", testenv.Options{Audit: true}, &env))
}

// argocd is where the Applications live: Argo CD's control-plane namespace
// and Tether's default --argocd-namespace.
const argocd = "argocd"

func TestApplicationScale(t *testing.T) {
	onlyDestination(t, "in-cluster")
	results := harness.Scale(t, env, measureTether(inCluster), 100, 1000)
	harness.Report(t, "TETHER_BENCH_OUT_APPLICATIONS", harness.Table("time to all Synced and Healthy", "apps/s", results)+
		"\nSteady state:\n\n"+harness.SteadyTable(results))
	harness.SaveJSON(t, "applications", results)
}

func TestApplicationScaleClusterSecret(t *testing.T) {
	onlyDestination(t, "cluster-secret")
	results := harness.ScaleAs(t, env, "secret-apps", measureTether(registeredCluster), 100, 1000)
	harness.Report(t, "TETHER_BENCH_OUT_APPLICATIONS_SECRET",
		"Destination given as an Argo CD cluster Secret (same API server):\n\n"+harness.Table("time to all Synced and Healthy", "apps/s", results)+
			"\nSteady state:\n\n"+harness.SteadyTable(results))
	harness.SaveJSON(t, "applications-cluster-secret", results)
}

// onlyDestination skips the test when TETHER_BENCH_DESTINATION names
// another destination.
func onlyDestination(t *testing.T, name string) {
	if d := os.Getenv("TETHER_BENCH_DESTINATION"); d != "" && d != name {
		t.Skipf("TETHER_BENCH_DESTINATION=%s", d)
	}
}

// inCluster is the destination of Tether's own cluster, by its usual URL.
func inCluster(*testing.T, client.Client) argov1.ApplicationDestination {
	return argov1.ApplicationDestination{Server: argov1.KubernetesInternalAPIServerAddr}
}

// benchCluster names the cluster Secret of registeredCluster.
const benchCluster = "bench-cluster"

// registeredCluster registers the benchmark's API server with an Argo CD
// cluster Secret (bearer token and CA, as `argocd cluster add` writes
// them) and returns a destination naming it.
func registeredCluster(t *testing.T, c client.Client) argov1.ApplicationDestination {
	cfg, err := json.Marshal(map[string]any{"bearerToken": env.Config.BearerToken,
		"tlsClientConfig": map[string]any{"caData": base64.StdEncoding.EncodeToString(env.Config.CAData)}})
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: benchCluster, Namespace: argocd,
		Labels: map[string]string{argov1.LabelKeySecretType: argov1.SecretTypeCluster}},
		StringData: map[string]string{"name": benchCluster, "server": env.Config.Host, "config": string(cfg)}}
	if err := c.Create(context.Background(), secret); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return argov1.ApplicationDestination{Name: benchCluster}
}

// measureTether returns the measurement of Tether with Applications whose
// destination dest gives: it creates an Application per app folder and
// waits until all are Synced to the head commit and Healthy.
func measureTether(dest func(*testing.T, client.Client) argov1.ApplicationDestination) harness.Measure {
	return func(t *testing.T, c client.Client, r *harness.Round) harness.Result {
		return measure(t, c, r, dest)
	}
}

func measure(t *testing.T, c client.Client, r *harness.Round, dest func(*testing.T, client.Client) argov1.ApplicationDestination) harness.Result {
	ctx := context.Background()
	if err := harness.CreateNamespace(c, argocd); err != nil {
		t.Fatal(err)
	}
	d := dest(t, c)
	d.Namespace = r.Name
	selector := client.MatchingLabels{"bench": r.Name}
	// The next size starts without these apps. They have no finalizer:
	// their objects stay.
	t.Cleanup(func() {
		err := c.DeleteAllOf(ctx, &argov1.Application{}, client.InNamespace(argocd), selector)
		switch {
		case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || (err != nil && strings.Contains(err.Error(), "INTERNAL_ERROR")):
			// 10,000 deletes outlast one request (a timeout, or the
			// HTTP/2 stream reset when it ends); the server goes on.
			t.Logf("deleting the round's Applications: %v", err)
		case err != nil:
			t.Error(err)
		}
	})
	start := time.Now()
	for a := range r.Apps {
		if err := c.Create(ctx, application(r, a, d)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d Applications created in %s", r.Apps, time.Since(start).Round(100*time.Millisecond))
	res := r.Await(t, func() (int, string) {
		apps := list(t, c, selector)
		return countDone(apps, r.Head), summarize(apps)
	})
	explain(t, list(t, c, selector), res, r.Tether.Logs.String())
	r.Steady(t, c, &res)
	return res
}

// application is app a of the round: its folder of the repository's
// HEAD, synced automatically to dest.
func application(r *harness.Round, a int, dest argov1.ApplicationDestination) *argov1.Application {
	return &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-app-%04d", r.Name, a), Namespace: argocd,
			Labels: map[string]string{"bench": r.Name}},
		Spec: argov1.ApplicationSpec{
			Project:     argov1.DefaultAppProjectName,
			Source:      &argov1.ApplicationSource{RepoURL: r.URL, TargetRevision: "HEAD", Path: harness.AppPath(a)},
			Destination: dest,
			SyncPolicy:  &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true, SelfHeal: true}},
		},
	}
}

func list(t *testing.T, c client.Client, selector client.MatchingLabels) []argov1.Application {
	t.Helper()
	var apps argov1.ApplicationList
	if err := c.List(context.Background(), &apps, client.InNamespace(argocd), selector); err != nil {
		t.Fatal(err)
	}
	return apps.Items
}

// countDone counts the apps that are Synced to head and Healthy.
func countDone(apps []argov1.Application, head string) int {
	done := 0
	for i := range apps {
		st := &apps[i].Status
		if st.Sync.Status == argov1.SyncStatusCodeSynced && st.Sync.Revision == head && st.Health.Status == argov1.HealthStatusHealthy {
			done++
		}
	}
	return done
}

// summarize counts the apps by sync and health status, "Synced/Healthy 40,
// OutOfSync/Missing 60".
func summarize(apps []argov1.Application) string {
	counts := map[string]int{}
	for i := range apps {
		st := &apps[i].Status
		counts[fmt.Sprintf("%s/%s", orNone(string(st.Sync.Status)), orNone(string(st.Health.Status)))]++
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

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// explain logs where the time went: how long apps waited for their sync
// and how long syncs took (status timestamps are whole seconds), apps
// synced more than once, requests by resource, and failed reconciles.
func explain(t *testing.T, apps []argov1.Application, r harness.Result, logs string) {
	var waits, syncs []time.Duration
	extra, failed := 0, 0
	for i := range apps {
		st := apps[i].Status.OperationState
		if st == nil || st.FinishedAt == nil {
			continue
		}
		waits = append(waits, st.StartedAt.Sub(apps[i].CreationTimestamp.Time))
		syncs = append(syncs, st.FinishedAt.Sub(st.StartedAt.Time))
		if st.Phase != argov1.OperationSucceeded {
			failed++
		}
		if len(apps[i].Status.History) > 1 {
			extra++
		}
	}
	t.Logf("%d apps: creation to sync start %s; sync duration %s", r.Apps, spread(waits), spread(syncs))
	t.Logf("%d apps synced more than once, %d last operations not Succeeded", extra, failed)
	t.Logf("tether's requests by verb and resource:\n%s", r.Requests.Detail(r.Apps))
	t.Logf("tether logged \"reconcile failed\" %d times", strings.Count(logs, "reconcile failed"))
	shown := 0
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, "reconcile failed") && shown < 3 {
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

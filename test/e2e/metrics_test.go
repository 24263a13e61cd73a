package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// stateMap is a ConfigMap whose health the test's Lua script reads.
func stateMap(state string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: judged\ndata:\n  state: " + state + "\n"
}

const configMapHealthScript = `hs = {}
if obj.data ~= nil and obj.data.state == "broken" then
  hs.status = "Degraded"
  hs.message = "state is broken"
else
  hs.status = "Healthy"
end
return hs`

// TestPrometheusAlertsOnSeedRules: a real Prometheus scrapes `tether
// run`; the seed's 13 alert rules (a copy with their "for" shortened to
// 2s) fire for an OutOfSync app and for a Degraded one, and resolve when
// both are fixed.
func TestPrometheusAlertsOnSeedRules(t *testing.T) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Fatalf("Debian's prometheus is not installed (make prereqs installs it): %v", err)
	}
	c := kubeClient(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name = "argocd", "argocd-cm"
	cm.Data = map[string]string{"resource.customizations.health._ConfigMap": configMapHealthScript}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cm) })
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "metrics")
	repo.Commit(t, "master", map[string]string{"fine/cm.yaml": stateMap("fine"), "broken/cm.yaml": stateMap("broken")}, "two apps")
	metricsAddr := freeAddr(t)
	startTetherOn(t, srv, "--metrics-addr", metricsAddr)

	// The seed's rules as written, but for: 2s.
	seed, err := os.ReadFile(filepath.Join(seedDir, "13-prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := string(seed)
	for _, f := range []string{"for: 5m", "for: 2m"} {
		rules = strings.ReplaceAll(rules, f, "for: 2s")
	}
	dir := t.TempDir()
	promAddr := freeAddr(t)
	files := map[string]string{
		"rules.yaml": rules,
		"prometheus.yaml": fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%q]\n"+
			"scrape_configs:\n  - job_name: tether\n    static_configs: [{targets: [%q]}]\n", filepath.Join(dir, "rules.yaml"), metricsAddr),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("promtool", "check", "rules", filepath.Join(dir, "rules.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	var promLog strings.Builder
	prom := exec.Command("prometheus", "--config.file="+filepath.Join(dir, "prometheus.yaml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", promLog.String())
		}
	})

	app := func(name, path string, automated bool) string {
		policy := ""
		if automated {
			policy = "  syncPolicy:\n    automated: {prune: true}\n    syncOptions: [CreateNamespace=true]\n"
		}
		return fmt.Sprintf("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s, namespace: argocd}\nspec:\n  project: default\n"+
			"  source: {repoURL: https://git.example.com/metrics.git, targetRevision: HEAD, path: %s}\n"+
			"  destination: {server: https://kubernetes.default.svc, namespace: %s}\n%s", name, path, name, policy)
	}
	applyYAML(t, app("metrics-outofsync", "fine", false)+"---\n"+app("metrics-degraded", "broken", true))
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", "metrics-outofsync")
		deleteApp(t, c, "argocd", "metrics-degraded")
	})

	// firing returns the names of the apps each firing alert is about.
	firing := func(ctx context.Context) (map[string][]string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+promAddr+"/api/v1/alerts", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string
					State  string
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, err
		}
		got := map[string][]string{}
		for _, a := range out.Data.Alerts {
			if a.State == "firing" && strings.HasPrefix(a.Labels["name"], "metrics-") {
				got[a.Labels["alertname"]] = append(got[a.Labels["alertname"]], a.Labels["name"])
			}
		}
		return got, nil
	}
	want := "map[ApplicationOutOfSync:[metrics-outofsync] ApplicationUnhealthy:[metrics-degraded]]"
	eventually(t, 2*time.Minute, "both alerts firing", func(ctx context.Context) error {
		got, err := firing(ctx)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != want {
			return fmt.Errorf("firing %v, want %s", got, want)
		}
		return nil
	})

	// Fixed: the first app syncs, the second's state is mended in Git.
	var a argov1.Application
	if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "metrics-outofsync"}, &a); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(a.DeepCopy())
	a.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{}, SyncOptions: []string{"CreateNamespace=true"}}
	if err := c.Patch(ctx, &a, patch); err != nil {
		t.Fatal(err)
	}
	repo.Commit(t, "master", map[string]string{"broken/cm.yaml": stateMap("fine")}, "mended")
	eventually(t, 2*time.Minute, "both alerts resolved", func(ctx context.Context) error {
		got, err := firing(ctx)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			return fmt.Errorf("still firing: %v", got)
		}
		return nil
	})

	// The requests made for an app are counted under its name, dry runs
	// apart; the cluster's Kubernetes version is a label of its info.
	for _, q := range []string{
		`argocd_app_k8s_request_total{name="metrics-degraded",verb="patch",resource_kind="configmaps",dry_run="false",response_code=~"2.."}`,
		`argocd_app_k8s_request_total{name="metrics-degraded",verb="patch",dry_run="true"}`,
		`argocd_cluster_info{name="in-cluster",k8s_version=~"v1[.][0-9]+[.][0-9]+"}`,
	} {
		eventually(t, time.Minute, q, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, "GET", "http://"+promAddr+"/api/v1/query?query="+url.QueryEscape(q), nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var out struct {
				Data struct{ Result []json.RawMessage }
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return err
			}
			if len(out.Data.Result) == 0 {
				return errors.New("no series")
			}
			return nil
		})
	}
}

// TestShippedAlertRules: config/monitoring's rule file passes promtool,
// holds the seed's rules as written, and its PrometheusRule holds the same
// groups.
func TestShippedAlertRules(t *testing.T) {
	root := filepath.Join("..", "..", "config", "monitoring")
	plain := filepath.Join(root, "alert-rules.yaml")
	if out, err := exec.Command("promtool", "check", "rules", plain).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", plain, err, out)
	}
	read := func(path string) map[string]any {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := yaml.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return out
	}
	rules, cr, seed := read(plain), read(filepath.Join(root, "prometheusrule.yaml")), read(filepath.Join(seedDir, "13-prometheus-rules.yaml"))
	spec, _ := cr["spec"].(map[string]any)
	if !reflect.DeepEqual(spec["groups"], rules["groups"]) {
		t.Error("prometheusrule.yaml's spec.groups differ from alert-rules.yaml's groups")
	}
	seedGroups, _ := seed["groups"].([]any)
	shipped, _ := rules["groups"].([]any)
	if len(seedGroups) == 0 || len(shipped) == 0 || !reflect.DeepEqual(seedGroups[0], shipped[0]) {
		t.Error("alert-rules.yaml's first group is not the seed's 13 as written")
	}
}

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv/browser"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// uiFluxFiles are a Flux folder: a ConfigMap, a HelmRepository and a
// HelmRelease of podinfo from it, all in namespace ui-flux.
func uiFluxFiles(chartRepo string) map[string]string {
	return map[string]string{
		"flux/settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: ui-settings
  namespace: ui-flux
data:
  greeting: hello
`,
		"flux/release.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: ui-flux
spec:
  interval: 1h
  url: ` + chartRepo + `
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: ui-flux
spec:
  interval: 1h
  chart:
    spec:
      chart: podinfo
      version: "6.0.x"
      sourceRef:
        kind: HelmRepository
        name: charts
`,
	}
}

// TestUI drives the web UI in Debian's headless Chromium against `tether
// run`, as a user would: log in, see the guestbook Synced and Healthy,
// sync a new commit and watch its steps, see a kubectl edit as OutOfSync
// with its diff, roll back to an earlier entry of the history; see a
// Kustomization's inventory as a tree, with the HelmRelease it applies
// expanded, linked to their sources; a read-only user finds Sync disabled
// and the API refuses the request anyway. Every page is saved at 1280 and
// 390 px wide under .local/ui-screenshots/.
func TestUI(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	charts := podinfoCharts(t, "6.0.3")
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "argocd-example-apps")
	files := guestbookFiles(t)
	for k, v := range uiFluxFiles(charts.URL()) {
		files[k] = v
	}
	first := repo.Commit(t, "master", files, "guestbook")
	tether := startTether(t, "--url-rewrite", cliGuestbookRepo+"="+repo.URL, "--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	api, admin := adminSession(t, c, tether)
	_, password := cliServer(t, c, tether)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const app = "ui-guestbook"
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", app)
		ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "ui-flux", Name: "ui-root"}}
		_ = c.Delete(ctx, ks)
		waitGone(t, c, 2*time.Minute, "Kustomization ui-root", "ui-flux", "ui-root", ks)
	})
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: `+app+`
  namespace: argocd
spec:
  project: default
  source:
    repoURL: `+cliGuestbookRepo+`
    path: guestbook
    targetRevision: HEAD
  destination:
    server: https://kubernetes.default.svc
    namespace: ui-guestbook
  syncPolicy:
    syncOptions: [CreateNamespace=true]
`)
	api.expect("POST", "/api/v1/applications/"+app+"/sync", admin, map[string]any{}, 200)
	waitAppState(t, c, app, func(a *argov1.Application) bool {
		return a.Status.Sync.Status == argov1.SyncStatusCodeSynced && a.Status.Health.Status == argov1.HealthStatusHealthy && len(a.Status.History) == 1
	})

	b := browser.New(t, base)
	// Each step starts where the one before left the browser.
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, func(t *testing.T) { b.T = t; f(t) }) {
			t.Logf("screenshots so far: %s", strings.Join(screenshotNames(b.Dir), ", "))
			t.FailNow()
		}
	}
	row := fmt.Sprintf(`tr[data-app="Application/argocd/%s"]`, app)

	step("log in and see the guestbook Synced and Healthy", func(t *testing.T) {
		b.Open("/")
		b.WaitFor("the redirect to the login page", `location.pathname === "/login"`, 30*time.Second)
		b.Screenshots("login")
		b.Login("admin", password)
		b.WaitFor("the guestbook row Synced and Healthy", browser.Contains(row, "Synced")+" && "+browser.Contains(row, "Healthy"), 60*time.Second)
		b.Screenshots("apps")
		// Search and a filter narrow the list on the server.
		b.Open("/?search=ui-guest&health=Healthy")
		b.WaitFor("the search keeps the guestbook", `document.querySelectorAll("table.apps tbody tr").length === 1 && document.querySelector(`+browser.JSString(row)+`)`, 30*time.Second)
		b.Open("/?health=Degraded")
		b.WaitFor("a filter leaves it out", `document.querySelector("table.apps") && !document.querySelector(`+browser.JSString(row)+`)`, 30*time.Second)
	})

	second := repo.Commit(t, "master", map[string]string{"guestbook/ui-settings.yaml": settingsMap("ui-settings", "two")}, "a second revision")
	step("click Sync and watch its steps", func(t *testing.T) {
		b.Open("/apps/Application/argocd/" + app)
		b.WaitFor("the tree with the Deployment", `document.querySelector('.node[data-kind=Deployment]')`, 60*time.Second)
		b.WaitFor("the new commit shown as OutOfSync", browser.Contains("h1", "OutOfSync"), 60*time.Second)
		b.Screenshots("app-tree")
		b.Click(`button[data-action=sync]`)
		b.Click(`.tabs button:nth-child(3)`) // Sync
		b.WaitFor("the sync's steps with the new ConfigMap applied",
			browser.Contains(".progress [data-object]", "ConfigMap/ui-guestbook/ui-settings")+" && "+browser.Contains(".progress [data-step]", "wave"), 60*time.Second)
		b.WaitFor("the sync Succeeded", browser.Contains(".progress", "Succeeded")+" && "+browser.Contains("h1", "Synced"), 60*time.Second)
		b.Screenshots("app-sync")
		got := waitAppState(t, c, app, func(a *argov1.Application) bool {
			return a.Status.Sync.Revision == second && len(a.Status.History) == 2
		})
		if got.Status.OperationState == nil || got.Status.OperationState.Operation.Sync == nil || got.Status.OperationState.Phase != "Succeeded" {
			t.Errorf("the operation the button started: %+v", got.Status.OperationState)
		}
	})

	step("a kubectl edit shows as OutOfSync with its diff", func(t *testing.T) {
		var d appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: "ui-guestbook", Name: "guestbook-ui"}, &d); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(d.DeepCopy())
		replicas := int32(4)
		d.Spec.Replicas = &replicas
		if err := c.Patch(ctx, &d, patch); err != nil {
			t.Fatal(err)
		}
		b.WaitFor("OutOfSync after the edit", browser.Contains("h1", "OutOfSync"), 30*time.Second)
		b.Click(`.tabs button:nth-child(2)`) // Diff
		b.WaitFor("the Deployment's diff", browser.Contains(`.diff-item[data-object="Deployment/guestbook-ui"] .line.del`, "replicas: 4")+" && "+
			browser.Contains(`.diff-item[data-object="Deployment/guestbook-ui"] .line.add`, "replicas: 1"), 30*time.Second)
		b.Screenshots("app-diff")
		b.Click(`.tabs button:nth-child(5)`) // Events
		b.WaitFor("the app's events", `document.querySelector("table.events")`, 30*time.Second)
		b.Screenshots("app-events")
	})

	step("roll back to an earlier entry of the history", func(t *testing.T) {
		b.Click(`.tabs button:nth-child(4)`) // History
		b.WaitFor("two entries", `document.querySelectorAll("table.history tbody tr").length === 2`, 30*time.Second)
		b.Screenshots("app-history")
		b.Click(`tr[data-history="0"] button[data-action=rollback]`)
		b.Click(`tr[data-history="0"] button[data-action=confirm-rollback]`)
		waitAppState(t, c, app, func(a *argov1.Application) bool {
			// The rollback deploys the first commit; the app still
			// compares with its target (HEAD), as in Argo CD.
			h := a.Status.History
			return len(h) == 3 && h[2].Revision == first && a.Status.OperationState != nil && a.Status.OperationState.Phase == "Succeeded"
		})
		b.WaitFor("the third entry in the page", `document.querySelectorAll("table.history tbody tr").length === 3`, 30*time.Second)
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "ui-guestbook", Name: "ui-settings"}, &cm); err != nil {
			t.Errorf("the rollback (without prune) should leave the second revision's ConfigMap: %v", err)
		}
	})

	step("a Kustomization's and a HelmRelease's inventory as trees linked to their sources", func(t *testing.T) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ui-flux"}}); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
		applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: guestbook-src
  namespace: ui-flux
spec:
  interval: 1h
  url: `+repo.URL+`
  ref:
    branch: master
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ui-root
  namespace: ui-flux
spec:
  interval: 1h
  path: ./flux
  prune: true
  sourceRef:
    kind: GitRepository
    name: guestbook-src
`)
		waitKustomization(t, c, "ui-flux", "ui-root", "True", 2*time.Minute)
		waitHelmRelease(t, c, "ui-flux", "web", func(hr *helmv2.HelmRelease) bool { return isReady(hr.Status.Conditions) }, 3*time.Minute)
		b.Open("/apps/Kustomization/ui-flux/ui-root")
		b.WaitFor("the inventory, with the release's Deployment nested under it",
			`document.querySelector('li[aria-level="1"] > .node[data-kind=HelmRelease][data-name=web]') && `+
				`document.querySelector('li[aria-level="2"] > .node[data-kind=Deployment]') && `+
				`document.querySelector('.node[data-kind=ConfigMap][data-name=ui-settings]')`, 60*time.Second)
		b.WaitFor("the link to the source", `document.querySelector('a[data-source="GitRepository/ui-flux/guestbook-src"]')`, 10*time.Second)
		b.Screenshots("kustomization")
		// Suspended, then changed by hand: the Diff tab shows what a
		// reconcile would put back, and Resume does it.
		b.Click(`button[data-action=suspend]`)
		b.WaitFor("the Suspended badge", browser.Contains("h1", "Suspended"), 30*time.Second)
		settings := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ui-flux", Name: "ui-settings"}}
		if err := c.Patch(ctx, settings, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"greeting":"changed-by-hand"}}`)), client.FieldOwner("someone")); err != nil {
			t.Fatal(err)
		}
		b.Click(`.tabs button:nth-child(2)`) // Diff
		item := `.diff-item[data-object="ConfigMap/ui-settings"][data-action=configured]`
		b.WaitFor("the ConfigMap's diff: the hand's value out, Git's in",
			browser.Contains(item+" .line.del", "changed-by-hand")+" && "+browser.Contains(item+" .line.add", "greeting: hello"), 60*time.Second)
		b.Screenshots("kustomization-diff")
		b.Click(`button[data-action=resume]`)
		eventually(t, time.Minute, "the hand's change undone after Resume", func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(settings), settings); err != nil || settings.Data["greeting"] != "hello" {
				return fmt.Errorf("greeting %q (%v)", settings.Data["greeting"], err)
			}
			return nil
		})
		b.Click(`button[data-action=refresh-diff]`)
		b.WaitFor("nothing left to change", browser.Contains(".flux-diff", "Everything is as Git says."), 60*time.Second)
		b.Open("/apps/HelmRelease/ui-flux/web")
		b.WaitFor("the release's objects, with health", `document.querySelector('.node[data-kind=Deployment] .badge')`, 60*time.Second)
		b.Click(`.node[data-kind=Deployment] .node-name`)
		b.WaitFor("the Deployment's live manifest", browser.Contains("aside.panel pre.manifest", "kind: Deployment")+" && "+browser.Contains("aside.panel pre.manifest", "replicas:"), 30*time.Second)
		b.Screenshots("helmrelease")
		b.Click(`.tabs button:nth-child(2)`) // Diff
		b.WaitFor("the release compared with the cluster, nothing drifted",
			browser.Contains(".flux-diff", "release ui-flux/web.v1 (")+" && "+browser.Contains(".flux-diff", "Everything is as Git says."), 60*time.Second)
		// The resource endpoint reads the tree's objects only.
		if code := b.FetchStatus("GET", "/api/v1/flux/kustomizations/ui-flux/ui-root/resource?version=v1&kind=Secret&namespace=argocd&name=argocd-secret", ""); code != 404 {
			t.Errorf("an object outside the tree answered %d, want 404", code)
		}
		b.Click(`a[data-source="HelmRepository/ui-flux/charts"]`)
		b.WaitFor("the source's card names its consumer", browser.Contains(`[data-source="HelmRepository/ui-flux/charts"]`, "HelmRelease ui-flux/web"), 30*time.Second)
		b.WaitFor("the Git source names the Kustomization", browser.Contains(`[data-source="GitRepository/ui-flux/guestbook-src"]`, "Kustomization ui-flux/ui-root"), 30*time.Second)
		b.Screenshots("sources")
		b.Open("/?kind=Kustomization&kind=HelmRelease")
		b.WaitFor("both Flux kinds in the one list", `document.querySelector('tr[data-app="Kustomization/ui-flux/ui-root"]') && document.querySelector('tr[data-app="HelmRelease/ui-flux/web"]') && !document.querySelector(`+browser.JSString(row)+`)`, 30*time.Second)
		b.Screenshots("apps-flux")
		b.Open("/clusters")
		b.WaitFor("the in-cluster destination", browser.Contains("table", "https://kubernetes.default.svc"), 30*time.Second)
		b.Screenshots("clusters")
	})

	step("a read-only user sees no enabled Sync, and a forged request is refused", func(t *testing.T) {
		b.Click(`header button.link`) // log out
		b.WaitFor("the login page", `location.pathname === "/login"`, 30*time.Second)
		b.Login("carol", "carol-password")
		b.Open("/apps/Application/argocd/" + app)
		b.WaitFor("the page, with Sync disabled", `document.querySelector('button[data-action=sync]') && document.querySelector('.node[data-kind=Deployment]')`, 60*time.Second)
		// The rights are asked after the app loads: give the answer time
		// to arrive, then check that Sync stays disabled.
		time.Sleep(2 * time.Second)
		if disabled, err := browser.Eval[bool](b, `document.querySelector('button[data-action=sync]').disabled`); err != nil || !disabled {
			t.Errorf("Sync is enabled for role:readonly (err %v)", err)
		}
		b.Screenshots("app-readonly")
		if code := b.FetchStatus("POST", "/api/v1/applications/"+app+"/sync", `{"prune":true}`); code != 403 {
			t.Errorf("a forged sync from carol's session answered %d, want 403", code)
		}
		if code := b.FetchStatus("POST", "/api/v1/flux/kustomizations/ui-flux/ui-root/suspend", `{}`); code != 403 {
			t.Errorf("a forged suspend from carol's session answered %d, want 403", code)
		}
		var a argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: app}, &a); err != nil || a.Operation != nil {
			t.Errorf("an operation was recorded: %v %+v", err, a.Operation)
		}
	})
}

// waitAppState waits until Application argocd/name satisfies ok.
func waitAppState(t *testing.T, c client.Client, name string, ok func(*argov1.Application) bool) *argov1.Application {
	t.Helper()
	var a argov1.Application
	eventually(t, 2*time.Minute, "Application "+name, func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, &a); err != nil {
			return err
		}
		if !ok(&a) {
			return fmt.Errorf("sync %s at %s, health %s, history %d, operation %+v", a.Status.Sync.Status, a.Status.Sync.Revision,
				a.Status.Health.Status, len(a.Status.History), a.Status.OperationState)
		}
		return nil
	})
	return &a
}

func screenshotNames(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

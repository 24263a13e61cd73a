package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// metric reads one counter from tether's metrics endpoint.
func metric(ctx context.Context, addr, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in the metrics (scan: %v)", name, sc.Err())
}

// TestPushRendersOnlyTheChangedApp: a repository of 1,000 apps, one
// Kustomization each. A push that changes one app's folder moves every
// Kustomization to the new revision, and only that one app is built
// again: the others' builds read nothing that changed (counted on
// tether's metrics endpoint). The changed app's new content is applied.
func TestPushRendersOnlyTheChangedApp(t *testing.T) {
	const apps = 1000
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "thousand-apps")
	files := map[string]string{"shared/README.md": "not read by any build\n"}
	for i := range apps {
		dir := fmt.Sprintf("apps/app-%04d", i)
		files[dir+"/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [settings.yaml]\n"
		files[dir+"/settings.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-%04d}\ndata: {version: one}\n", i)
	}
	first := repo.Commit(t, "master", files, "a thousand apps")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fanout"}}
	if err := c.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	metrics := freeAddr(t)
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--concurrent", "16",
		"--kube-api-qps", "500", "--kube-api-burst", "1000", "--log-level", "info", "--metrics-addr", metrics)
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: thousand-apps, namespace: flux-system}
spec: {interval: 2s, url: https://git.example.com/thousand-apps.git, ref: {branch: master}}
`)
	applier := newApplier(t)
	for i := range apps {
		ks := mustObjects(t, fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: fanout-%04d, namespace: flux-system}
spec: {interval: 1h, path: ./apps/app-%04d, prune: false, targetNamespace: fanout, sourceRef: {kind: GitRepository, name: thousand-apps}}
`, i, i))[0]
		if _, err := applier.Apply(context.Background(), ks); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		var list kustomizev1.KustomizationList
		if err := c.List(ctx, &list, client.InNamespace("flux-system")); err == nil {
			for i := range list.Items {
				if strings.HasPrefix(list.Items[i].Name, "fanout-") {
					_ = c.Delete(ctx, &list.Items[i])
				}
			}
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if err := c.List(ctx, &list, client.InNamespace("flux-system")); err != nil || !anyPrefixed(list.Items, "fanout-") {
				break
			}
			time.Sleep(time.Second)
		}
		if repo, err := getRepo(ctx, c, "flux-system", "thousand-apps"); err == nil {
			_ = c.Delete(ctx, repo)
		}
		_ = c.Delete(ctx, ns)
	})

	allAt := func(revision string, timeout time.Duration) {
		t.Helper()
		eventually(t, timeout, fmt.Sprintf("%d Kustomizations Ready at %s", apps, revision), func(ctx context.Context) error {
			var list kustomizev1.KustomizationList
			if err := c.List(ctx, &list, client.InNamespace("flux-system")); err != nil {
				return err
			}
			done := 0
			for _, ks := range list.Items {
				if strings.HasPrefix(ks.Name, "fanout-") && ks.Status.LastAppliedRevision == revision &&
					apimeta.IsStatusConditionTrue(ks.Status.Conditions, "Ready") {
					done++
				}
			}
			if done != apps {
				return fmt.Errorf("%d of %d", done, apps)
			}
			return nil
		})
	}
	allAt("master@sha1:"+first, 5*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	buildsBefore, err := metric(ctx, metrics, "tether_render_builds_total")
	if err != nil {
		t.Fatal(err)
	}
	if buildsBefore < apps {
		t.Fatalf("%v builds for %d apps' first revision", buildsBefore, apps)
	}
	reusedBefore, err := metric(ctx, metrics, "tether_render_reused_total")
	if err != nil {
		t.Fatal(err)
	}

	second := repo.Commit(t, "master", map[string]string{
		"apps/app-0042/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-0042}\ndata: {version: two}\n",
		"shared/README.md":            "still not read by any build\n",
	}, "change one app")
	allAt("master@sha1:"+second, 5*time.Minute)

	builds, err := metric(ctx, metrics, "tether_render_builds_total")
	if err != nil {
		t.Fatal(err)
	}
	reused, err := metric(ctx, metrics, "tether_render_reused_total")
	if err != nil {
		t.Fatal(err)
	}
	if builds-buildsBefore != 1 {
		t.Errorf("the push built %v apps, want exactly 1", builds-buildsBefore)
	}
	// Every other app moved to the new revision on its last build (a
	// Kustomization woken twice reuses twice, hence at least).
	if reused-reusedBefore < apps-1 {
		t.Errorf("the push reused %v builds, want at least %d", reused-reusedBefore, apps-1)
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: "fanout", Name: "app-0042"}, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["version"] != "two" {
		t.Errorf("the changed app's ConfigMap has version %q, want two", cm.Data["version"])
	}
}

func anyPrefixed(items []kustomizev1.Kustomization, prefix string) bool {
	for _, ks := range items {
		if strings.HasPrefix(ks.Name, prefix) {
			return true
		}
	}
	return false
}

// TestApplicationsLearnAPushAtOnce: two apps of one repository, each
// polling it only every ten minutes. After a push, one refresh of the
// first app moves the second within seconds, without a poll of its own:
// the shared fetcher tells every consumer of the repository that its
// references moved, and a GitRepository of the same URL follows too.
func TestApplicationsLearnAPushAtOnce(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "push-wakes")
	first := repo.Commit(t, "master", map[string]string{"one/cm.yaml": configMap("one", ""), "two/cm.yaml": configMap("two", "")}, "two apps")
	startTether(t, "--url-rewrite", "https://git.example.com/sync-features.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "10m")
	for _, name := range []string{"one", "two"} {
		applyYAML(t, appYAML("wake-"+name, name, "wake-"+name, automatedSync))
		t.Cleanup(func() { deleteApp(t, c, "argocd", "wake-"+name) })
	}
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: push-wakes, namespace: flux-system}
spec:
  interval: 10m
  url: https://git.example.com/sync-features.git
  ref: {branch: master}
`)
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "push-wakes"}})
	})
	for _, name := range []string{"one", "two"} {
		waitApp(t, c, "argocd", "wake-"+name, first, "Synced", "Healthy", 60*time.Second)
	}
	artifactRevision := func(ctx context.Context) (string, error) {
		var repo sourcev1.GitRepository
		if err := c.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: "push-wakes"}, &repo); err != nil {
			return "", err
		}
		if repo.Status.Artifact == nil {
			return "", fmt.Errorf("no artifact yet")
		}
		return repo.Status.Artifact.Revision, nil
	}
	eventually(t, 30*time.Second, "GitRepository at the first commit", func(ctx context.Context) error {
		rev, err := artifactRevision(ctx)
		if err == nil && rev != "master@sha1:"+first {
			err = fmt.Errorf("artifact %s", rev)
		}
		return err
	})

	second := repo.Commit(t, "master", map[string]string{"one/cm.yaml": configMap("one", `pushed: "1"`), "two/cm.yaml": configMap("two", `pushed: "1"`)}, "push")
	var one argov1.Application
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "argocd", Name: "wake-one"}, &one); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(one.DeepCopy())
	metav1.SetMetaDataAnnotation(&one.ObjectMeta, argov1.AnnotationKeyRefresh, "normal")
	if err := c.Patch(context.Background(), &one, patch); err != nil {
		t.Fatal(err)
	}
	waitApp(t, c, "argocd", "wake-one", second, "Synced", "Healthy", 30*time.Second)
	// Ten seconds, not ten minutes: only the fetcher's notice can do it.
	waitApp(t, c, "argocd", "wake-two", second, "Synced", "Healthy", 10*time.Second)
	eventually(t, 10*time.Second, "GitRepository at the pushed commit", func(ctx context.Context) error {
		rev, err := artifactRevision(ctx)
		if err == nil && rev != "master@sha1:"+second {
			err = fmt.Errorf("artifact %s", rev)
		}
		return err
	})
}

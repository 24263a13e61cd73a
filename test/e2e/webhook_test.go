package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/scheme"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// hookClient posts raw bodies to tether's API over HTTPS (the server's
// self-signed certificate is accepted).
type hookClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newHookClient(t *testing.T, base string) *hookClient {
	return &hookClient{t: t, base: base, http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the server's self-signed certificate
	}}}
}

// post sends body to path with headers and returns the status and body.
func (c *hookClient) post(path string, headers map[string]string, body io.Reader) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(data))
}

// alive fails the test unless the server still answers.
func (c *hookClient) alive() {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/api/version")
	if err != nil {
		c.t.Fatalf("the API server no longer answers: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /api/version: %d", resp.StatusCode)
	}
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// setArgoSecret puts key=value into argocd-secret before tether starts,
// and leaves the Secret as it was found when the test ends.
func setArgoSecret(t *testing.T, c client.Client, key, value string) {
	t.Helper()
	ctx := context.Background()
	var secret corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-secret"}, &secret)
	switch {
	case apierrors.IsNotFound(err):
		secret = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: "argocd"},
			Data: map[string][]byte{key: []byte(value)}}
		if err := c.Create(ctx, &secret); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// tether's start made the rest of it, and the initial
			// admin password: neither was there before.
			for _, name := range []string{"argocd-secret", "argocd-initial-admin-secret"} {
				_ = c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
			}
		})
	case err != nil:
		t.Fatal(err)
	default:
		patch := fmt.Sprintf(`{"stringData":{%q:%q}}`, key, value)
		if err := c.Patch(ctx, &secret, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: "argocd"}},
				client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"data":{%q:null}}`, key))))
		})
	}
}

// refreshWatch records, from a watch on the API server, every app of
// namespace ns whose name starts with prefix and that was seen carrying
// the refresh annotation, until the test ends.
type refreshWatch struct {
	mu   sync.Mutex
	seen map[string]int
}

func watchRefreshes(t *testing.T, ns, prefix string) *refreshWatch {
	t.Helper()
	s, err := scheme.New()
	if err != nil {
		t.Fatal(err)
	}
	wc, err := client.NewWithWatch(cluster(t).Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &argov1.ApplicationList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rw := &refreshWatch{seen: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			app, ok := ev.Object.(*argov1.Application)
			if !ok || ev.Type == watch.Deleted || !strings.HasPrefix(app.Name, prefix) {
				continue
			}
			if _, asked := app.Annotations[argov1.AnnotationKeyRefresh]; asked {
				rw.mu.Lock()
				rw.seen[app.Name]++
				rw.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); <-done })
	return rw
}

// names returns the apps seen asked to refresh, sorted.
func (rw *refreshWatch) names() []string {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	var out []string
	for n := range rw.seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// webhookApp is an automated Application of repo's path at revision.
func webhookApp(name, repo, revision, path, annotations string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
  annotations: {%s}
spec:
  project: default
  source: {repoURL: 'https://git.example.com/%s.git', targetRevision: %s, path: %s}
  destination: {server: 'https://kubernetes.default.svc', namespace: %s}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
`, name, annotations, repo, revision, path, name)
}

func webhookConfigMap(name, version string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {version: %s}\n", name, version)
}

// TestWebhookGitHubPushRefreshesExactlyTheAffectedApps: five apps poll
// their repositories only every ten minutes. Requests that Argo CD's
// advisories are about (an oversized body, malformed payloads, a bad
// signature, an unknown event) are refused and change nothing, and the
// server stays up. Then a signed GitHub push of master asks exactly the
// two apps of that repository and branch to refresh (not the app of
// another branch, of another repository, nor the one whose
// manifest-generate-paths the push did not touch: watched on the API
// server), and they reach the new commit within seconds. Builds are
// counted on tether's metrics endpoint: the two apps' and no other
// branch's or repository's.
func TestWebhookGitHubPushRefreshesExactlyTheAffectedApps(t *testing.T) {
	const secret = "github-webhook-secret"
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "webhook-apps")
	other := srv.CreateRepo(t, "webhook-other")
	first := repo.Commit(t, "master", map[string]string{
		"one/cm.yaml":   webhookConfigMap("wh-one", "v1"),
		"two/cm.yaml":   webhookConfigMap("wh-two", "v1"),
		"three/cm.yaml": webhookConfigMap("wh-three", "v1"),
	}, "three apps")
	release := repo.Commit(t, "release", map[string]string{"rel/cm.yaml": webhookConfigMap("wh-release", "v1")}, "release")
	otherHead := other.Commit(t, "master", map[string]string{"other/cm.yaml": webhookConfigMap("wh-other", "v1")}, "other")
	setArgoSecret(t, c, "webhook.github.secret", secret)
	setArgoSecret(t, c, "webhook.bitbucket.uuid", "{e2e-hook-uuid}")
	setArgoSecret(t, c, "webhook.gogs.secret", "gogs-secret")
	if err := c.Patch(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}},
		client.RawPatch(types.MergePatchType, []byte(`{"data":{"webhook.maxPayloadSizeMB":"1"}}`))); err == nil {
		t.Cleanup(func() {
			_ = c.Patch(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}},
				client.RawPatch(types.MergePatchType, []byte(`{"data":{"webhook.maxPayloadSizeMB":null}}`)))
		})
	} else if apierrors.IsNotFound(err) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}, Data: map[string]string{"webhook.maxPayloadSizeMB": "1"}}
		if err := c.Create(context.Background(), cm); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), cm) })
	} else {
		t.Fatal(err)
	}

	metrics := freeAddr(t)
	tether := startTether(t, "--url-rewrite", "https://git.example.com/webhook-apps.git="+repo.URL,
		"--url-rewrite", "https://git.example.com/webhook-other.git="+other.URL,
		"--app-resync-period", "10m", "--metrics-addr", metrics)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	apps := map[string]string{
		"wh-one":     webhookApp("wh-one", "webhook-apps", "HEAD", "one", ""),
		"wh-two":     webhookApp("wh-two", "webhook-apps", "master", "two", ""),
		"wh-three":   webhookApp("wh-three", "webhook-apps", "master", "three", argov1.AnnotationManifestGeneratePaths+": ."),
		"wh-release": webhookApp("wh-release", "webhook-apps", "release", "rel", ""),
		"wh-other":   webhookApp("wh-other", "webhook-other", "HEAD", "other", ""),
	}
	for name, doc := range apps {
		applyYAML(t, doc)
		t.Cleanup(func() {
			deleteApp(t, c, "argocd", name)
			_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		})
	}
	at := map[string]string{"wh-one": first, "wh-two": first, "wh-three": first, "wh-release": release, "wh-other": otherHead}
	for name, rev := range at {
		waitApp(t, c, "argocd", name, rev, "Synced", "Healthy", 90*time.Second)
	}
	refreshes := watchRefreshes(t, "argocd", "wh-")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	buildsBefore := steadyMetric(t, ctx, metrics, "tether_render_builds_total")

	second := repo.Commit(t, "master", map[string]string{
		"one/cm.yaml":   webhookConfigMap("wh-one", "v2"),
		"two/cm.yaml":   webhookConfigMap("wh-two", "v2"),
		"three/cm.yaml": webhookConfigMap("wh-three", "v1"), // unchanged
	}, "one and two move to v2")
	payload, err := json.Marshal(map[string]any{
		"ref": "refs/heads/master", "before": first, "after": second,
		"repository": map[string]any{
			"html_url": "https://git.example.com/webhook-apps", "clone_url": "https://git.example.com/webhook-apps.git",
			"default_branch": "master",
		},
		"commits": []map[string]any{{"id": second, "added": []string{}, "modified": []string{"one/cm.yaml", "two/cm.yaml"}, "removed": []string{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hooks := newHookClient(t, base)
	signed := map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmacHex(secret, payload)}

	t.Run("refused requests change nothing", func(t *testing.T) {
		t.Run("CVE-2024-40634 oversized payload", func(t *testing.T) {
			// Signed, so only the size refuses it; streamed without a
			// length, so the cap is enforced while reading.
			big := append(bytes.Repeat([]byte(" "), 3<<20), payload...)
			headers := map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmacHex(secret, big)}
			if code, body := hooks.post("/api/webhook", headers, io.MultiReader(bytes.NewReader(big))); code != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized body: %d %s, want 413", code, body)
			}
			if code, body := hooks.post("/api/webhook", headers, bytes.NewReader(big)); code != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized body with its length: %d %s, want 413", code, body)
			}
		})
		t.Run("CVE-2025-59531 malformed Bitbucket payload", func(t *testing.T) {
			// Argo CD's crash case: authenticated, no change's "new",
			// a null repository. Read as nothing to refresh.
			body := []byte(`{"push":{"changes":[{"new":null},null]},"repository":null}`)
			code, msg := hooks.post("/api/webhook", map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "{e2e-hook-uuid}"}, bytes.NewReader(body))
			if code != http.StatusOK || msg != "nothing to refresh" {
				t.Errorf("%d %s, want 200 nothing to refresh", code, msg)
			}
			code, msg = hooks.post("/api/webhook", map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "{other}"}, bytes.NewReader(body))
			if code != http.StatusBadRequest {
				t.Errorf("wrong UUID: %d %s, want 400", code, msg)
			}
		})
		t.Run("CVE-2025-59537 malformed Gogs payload", func(t *testing.T) {
			body := []byte(`{"ref":null,"repository":null,"commits":[null]}`)
			code, msg := hooks.post("/api/webhook", map[string]string{"X-Gogs-Event": "push", "X-Gogs-Signature": hmacHex("gogs-secret", body)}, bytes.NewReader(body))
			if code != http.StatusOK || msg != "nothing to refresh" {
				t.Errorf("%d %s, want 200 nothing to refresh", code, msg)
			}
			body = []byte(`{"ref":{},"repository":"x"}`)
			code, msg = hooks.post("/api/webhook", map[string]string{"X-Gogs-Event": "push", "X-Gogs-Signature": hmacHex("gogs-secret", body)}, bytes.NewReader(body))
			if code != http.StatusBadRequest || !strings.Contains(msg, "malformed payload") {
				t.Errorf("%d %s, want 400 malformed payload", code, msg)
			}
		})
		t.Run("CVE-2025-59538 Azure DevOps request", func(t *testing.T) {
			body := []byte(`{"eventType":"git.push","resource":null}`)
			code, msg := hooks.post("/api/webhook", map[string]string{"X-Vss-Activityid": "x"}, bytes.NewReader(body))
			if code != http.StatusBadRequest || msg != "Unknown webhook event" {
				t.Errorf("%d %s, want 400 Unknown webhook event", code, msg)
			}
		})
		t.Run("malformed but signed GitHub payload", func(t *testing.T) {
			body := []byte(`{"ref":["x"],"repository":7}`)
			code, msg := hooks.post("/api/webhook", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmacHex(secret, body)}, bytes.NewReader(body))
			if code != http.StatusBadRequest {
				t.Errorf("%d %s, want 400", code, msg)
			}
		})
		t.Run("bad signature", func(t *testing.T) {
			code, msg := hooks.post("/api/webhook", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmacHex("guess", payload)}, bytes.NewReader(payload))
			if code != http.StatusBadRequest || !strings.Contains(msg, "HMAC verification failed") {
				t.Errorf("%d %s, want 400 HMAC verification failed", code, msg)
			}
			code, msg = hooks.post("/api/webhook", map[string]string{"X-GitHub-Event": "push"}, bytes.NewReader(payload))
			if code != http.StatusBadRequest {
				t.Errorf("unsigned: %d %s, want 400", code, msg)
			}
		})
		t.Run("unknown event", func(t *testing.T) {
			code, msg := hooks.post("/api/webhook", map[string]string{"X-GitHub-Event": "issues", "X-Hub-Signature-256": signed["X-Hub-Signature-256"]}, bytes.NewReader(payload))
			if code != http.StatusBadRequest || msg != "Unknown webhook event" {
				t.Errorf("%d %s, want 400 Unknown webhook event", code, msg)
			}
			code, msg = hooks.post("/api/webhook", nil, bytes.NewReader(payload))
			if code != http.StatusBadRequest || msg != "Unknown webhook event" {
				t.Errorf("no provider: %d %s, want 400 Unknown webhook event", code, msg)
			}
		})
		hooks.alive()
		time.Sleep(3 * time.Second)
		if seen := refreshes.names(); len(seen) != 0 {
			t.Errorf("refused requests refreshed %v", seen)
		}
		if builds := steadyMetric(t, ctx, metrics, "tether_render_builds_total"); builds != buildsBefore {
			t.Errorf("refused requests ran %v builds", builds-buildsBefore)
		}
		for name, rev := range at {
			var app argov1.Application
			if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: name}, &app); err != nil {
				t.Fatal(err)
			}
			if app.Status.Sync.Revision != rev {
				t.Errorf("%s moved to %.7s after refused requests", name, app.Status.Sync.Revision)
			}
		}
	})

	t.Run("a signed push refreshes exactly the affected apps", func(t *testing.T) {
		start := time.Now()
		if code, msg := hooks.post("/api/webhook", signed, bytes.NewReader(payload)); code != http.StatusOK {
			t.Fatalf("signed push: %d %s", code, msg)
		}
		answered := time.Since(start)
		for _, name := range []string{"wh-one", "wh-two"} {
			waitApp(t, c, "argocd", name, second, "Synced", "Healthy", 30*time.Second)
		}
		took := time.Since(start)
		t.Logf("answered in %v; both apps synced at the new commit %v after the push", answered, took)
		if took > 15*time.Second {
			t.Errorf("the apps reached the pushed commit %v after the webhook, want within seconds", took)
		}
		for _, name := range []string{"wh-one", "wh-two"} {
			var cm corev1.ConfigMap
			if err := c.Get(ctx, client.ObjectKey{Namespace: name, Name: name}, &cm); err != nil || cm.Data["version"] != "v2" {
				t.Errorf("%s's ConfigMap: %v %v, want version v2", name, cm.Data, err)
			}
		}
		builds := steadyMetric(t, ctx, metrics, "tether_render_builds_total")
		if got, want := strings.Join(refreshes.names(), ","), "wh-one,wh-two"; got != want {
			t.Errorf("apps asked to refresh: %s, want %s", got, want)
		}
		// wh-one and wh-two, asked by the webhook, build. The webhook
		// leaves wh-three alone (its manifest-generate-paths were not
		// touched); the shared Git fetcher still wakes every app of a
		// repository whose refs moved (repowake), but wh-three's folder
		// is unchanged, so its objects are reused, not built.
		// wh-release's branch did not move: quiet, no build.
		if builds-buildsBefore != 2 {
			t.Errorf("the push ran %v builds, want exactly 2 (wh-one and wh-two)", builds-buildsBefore)
		}
		for name, rev := range map[string]string{"wh-release": release, "wh-other": otherHead} {
			var app argov1.Application
			if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: name}, &app); err != nil {
				t.Fatal(err)
			}
			if app.Status.Sync.Revision != rev {
				t.Errorf("%s moved to %.7s", name, app.Status.Sync.Revision)
			}
		}
		hooks.alive()
	})
	for _, value := range []string{secret, "{e2e-hook-uuid}", "gogs-secret"} {
		if strings.Contains(tether.Logs.String(), value) {
			t.Errorf("a webhook secret is in tether's log")
		}
	}
}

// steadyMetric reads a counter once it stopped moving for two seconds.
func steadyMetric(t *testing.T, ctx context.Context, addr, name string) float64 {
	t.Helper()
	last := -1.0
	for {
		v, err := metric(ctx, addr, name)
		if err != nil {
			t.Fatal(err)
		}
		if v == last {
			return v
		}
		last = v
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not settle", name)
		case <-time.After(2 * time.Second):
		}
	}
}

// TestReceiverMakesGitRepositoryFetchAtOnce: Flux Receivers get Flux's
// webhook path and Ready, and a verified call makes a GitRepository
// whose interval is an hour fetch the pushed commit at once; a call with
// a bad signature changes nothing, an unknown path is 404, and a
// Receiver without its Secret is not Ready.
func TestReceiverMakesGitRepositoryFetchAtOnce(t *testing.T) {
	const token = "receiver-token-123"
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "receiver-src")
	first := repo.Commit(t, "master", map[string]string{"cm.yaml": webhookConfigMap("rcv", "v1")}, "v1")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/receiver-src.git="+repo.URL)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	applyYAML(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: receiver-token, namespace: flux-system}
stringData: {token: %s}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: receiver-src, namespace: flux-system, labels: {receiver-test: "yes"}}
spec: {interval: 1h, url: https://git.example.com/receiver-src.git, ref: {branch: master}}
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: receiver-hmac, namespace: flux-system}
spec:
  type: generic-hmac
  secretRef: {name: receiver-token}
  resources:
    - {kind: GitRepository, name: receiver-src}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Receiver
metadata: {name: receiver-github, namespace: flux-system}
spec:
  type: github
  events: [push]
  secretRef: {name: receiver-token}
  resources:
    - {apiVersion: source.toolkit.fluxcd.io/v1, kind: GitRepository, name: "*", matchLabels: {receiver-test: "yes"}}
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: receiver-nosecret, namespace: flux-system}
spec:
  type: generic
  secretRef: {name: receiver-missing}
  resources:
    - {kind: GitRepository, name: receiver-src}
`, token))
	t.Cleanup(func() {
		for _, o := range []client.Object{
			&notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Name: "receiver-hmac", Namespace: "flux-system"}},
			&notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Name: "receiver-github", Namespace: "flux-system"}},
			&notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Name: "receiver-nosecret", Namespace: "flux-system"}},
			&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "receiver-src", Namespace: "flux-system"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "receiver-token", Namespace: "flux-system"}},
		} {
			_ = c.Delete(ctx, o)
		}
	})

	paths := map[string]string{}
	for _, name := range []string{"receiver-hmac", "receiver-github"} {
		sum := sha256.Sum256([]byte(token + name + "flux-system"))
		want := "/hook/" + hex.EncodeToString(sum[:])
		eventually(t, 30*time.Second, name+" Ready with Flux's path", func(ctx context.Context) error {
			var r notificationv1.Receiver
			if err := c.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: name}, &r); err != nil {
				return err
			}
			ready := apimeta.FindStatusCondition(r.Status.Conditions, "Ready")
			if ready == nil || ready.Status != metav1.ConditionTrue || r.Status.WebhookPath != want ||
				ready.Message != "Receiver initialized for path: "+want || r.Status.ObservedGeneration != r.Generation {
				return fmt.Errorf("status %+v", r.Status)
			}
			return nil
		})
		paths[name] = want
	}
	eventually(t, 30*time.Second, "receiver-nosecret not Ready", func(ctx context.Context) error {
		var r notificationv1.Receiver
		if err := c.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: "receiver-nosecret"}, &r); err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(r.Status.Conditions, "Ready")
		if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != notificationv1.TokenNotFoundReason || r.Status.WebhookPath != "" {
			return fmt.Errorf("status %+v", r.Status)
		}
		return nil
	})
	revisionIs := func(t *testing.T, want string, timeout time.Duration) {
		t.Helper()
		eventually(t, timeout, "GitRepository at "+want, func(ctx context.Context) error {
			var gr sourcev1.GitRepository
			if err := c.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: "receiver-src"}, &gr); err != nil {
				return err
			}
			if gr.Status.Artifact == nil || gr.Status.Artifact.Revision != "master@sha1:"+want {
				return fmt.Errorf("artifact %+v", gr.Status.Artifact)
			}
			return nil
		})
	}
	revisionIs(t, first, time.Minute)
	hooks := newHookClient(t, base)

	second := repo.Commit(t, "master", map[string]string{"cm.yaml": webhookConfigMap("rcv", "v2")}, "v2")
	body := []byte(`{"ref":"refs/heads/master"}`)
	t.Run("a bad signature changes nothing", func(t *testing.T) {
		if code, msg := hooks.post(paths["receiver-hmac"], map[string]string{"X-Signature": "sha256=" + hmacHex("guess", body)}, bytes.NewReader(body)); code != http.StatusBadRequest {
			t.Errorf("bad signature: %d %s, want 400", code, msg)
		}
		if code, msg := hooks.post("/hook/"+strings.Repeat("0", 64), nil, bytes.NewReader(body)); code != http.StatusNotFound {
			t.Errorf("unknown path: %d %s, want 404", code, msg)
		}
		time.Sleep(3 * time.Second)
		revisionIs(t, first, time.Second)
	})
	t.Run("generic-hmac", func(t *testing.T) {
		start := time.Now()
		if code, msg := hooks.post(paths["receiver-hmac"], map[string]string{"X-Signature": "sha256=" + hmacHex(token, body)}, bytes.NewReader(body)); code != http.StatusOK {
			t.Fatalf("signed call: %d %s", code, msg)
		}
		revisionIs(t, second, 15*time.Second)
		t.Logf("new revision %v after the call", time.Since(start))
	})
	third := repo.Commit(t, "master", map[string]string{"cm.yaml": webhookConfigMap("rcv", "v3")}, "v3")
	t.Run("github, by label", func(t *testing.T) {
		headers := map[string]string{"X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=" + hmacHex(token, body)}
		if code, msg := hooks.post(paths["receiver-github"], headers, bytes.NewReader(body)); code != http.StatusBadRequest {
			t.Errorf("event outside spec.events: %d %s, want 400", code, msg)
		}
		headers["X-GitHub-Event"] = "ping"
		if code, msg := hooks.post(paths["receiver-github"], headers, bytes.NewReader(body)); code != http.StatusOK {
			t.Errorf("ping: %d %s, want 200", code, msg)
		}
		time.Sleep(2 * time.Second)
		revisionIs(t, second, time.Second)
		headers["X-GitHub-Event"] = "push"
		if code, msg := hooks.post(paths["receiver-github"], headers, bytes.NewReader(body)); code != http.StatusOK {
			t.Fatalf("push: %d %s", code, msg)
		}
		revisionIs(t, third, 15*time.Second)
	})
	if strings.Contains(tether.Logs.String(), token) {
		t.Error("the Receiver's token is in tether's log")
	}
}

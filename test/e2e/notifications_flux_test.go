package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/notify/flux"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// notifySink is a loopback HTTP server standing for a notification
// service: it records every request and answers with answer (200 when
// nil).
type notifySink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []sinkRequest
	answer func(n int) int // status for the n-th request (from 1)
	hang   chan struct{}   // when set, requests wait until it is closed
}

type sinkRequest struct {
	method, uri string
	header      http.Header
	body        []byte
	at          time.Time
}

func newNotifySink(t *testing.T, answer func(n int) int) *notifySink {
	t.Helper()
	s := &notifySink{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, sinkRequest{r.Method, r.RequestURI, r.Header.Clone(), body, time.Now()})
		n, hang := len(s.got), s.hang
		s.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
		if s.answer != nil {
			w.WriteHeader(s.answer(n))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *notifySink) requests() []sinkRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkRequest(nil), s.got...)
}

// fluxEvents decodes the Flux events of requests to a generic sink.
func fluxEvents(t *testing.T, reqs []sinkRequest) []flux.Event {
	t.Helper()
	var out []flux.Event
	for _, r := range reqs {
		var ev flux.Event
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatalf("a request that is not a Flux event: %v: %s", err, r.body)
		}
		out = append(out, ev)
	}
	return out
}

// Values that must never show in Tether's logs or events.
const (
	notifyHMACKey     = "hmac-signing-key-7f3a91c2"
	notifyGitHubToken = "ghp_e2eTokenNeverLogged42"
	notifySecretPath  = "hook-secret-path-5d2e8b"
)

// TestFluxNotifications runs Flux's Providers and Alerts against real
// loopback sinks: a generic-hmac Alert for every Kustomization's errors
// sends one signed POST per failure and nothing for info events; an
// inclusionList/exclusionList filters by message; a github Provider sets
// the applied commit's status on a GitHub-shaped API; a sink answering
// 500 is retried; a refused delivery becomes a Warning event on its
// Alert; a hung sink does not hold up reconciles; and no token, signing
// key or webhook path shows in Tether's logs or events.
func TestFluxNotifications(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	const ns = "notify-flux"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	hmacSink := newNotifySink(t, nil)
	filterSink := newNotifySink(t, nil)
	retrySink := newNotifySink(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	deniedSink := newNotifySink(t, func(int) int { return http.StatusForbidden })
	github := newNotifySink(t, func(int) int { return http.StatusCreated })

	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "notify-flux")
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: b}\n"
	}
	head := repo.Commit(t, "master", map[string]string{
		"good/cm.yaml":                cm("notify-good"),
		"broken/kustomization.yaml":   "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [missing.yaml]\n",
		"invalid/cm.yaml":             cm("Bad_Name"),
		"timing/cm.yaml":              cm("notify-timing"),
		"timing/kustomization.yaml":   "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n",
		"unrelated/never-applied.txt": "x",
	}, "notification scenarios")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--git-resolve-ttl", "1s")

	upsertSecret(t, c, ns, "hmac-key", map[string]string{"token": notifyHMACKey})
	upsertSecret(t, c, ns, "github-token", map[string]string{"token": notifyGitHubToken})
	upsertSecret(t, c, ns, "denied-address", map[string]string{"address": deniedSink.URL + "/" + notifySecretPath})
	objs := applyYAML(t, fmt.Sprintf(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: hmac, namespace: %[1]s}
spec: {type: generic-hmac, address: %[2]s, secretRef: {name: hmac-key}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: errors, namespace: %[1]s}
spec:
  providerRef: {name: hmac}
  eventSeverity: error
  eventSources: [{kind: Kustomization, name: '*'}]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: filtered, namespace: %[1]s}
spec: {type: generic, address: %[3]s}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: filtered, namespace: %[1]s}
spec:
  providerRef: {name: filtered}
  eventSeverity: error
  eventSources: [{kind: Kustomization, name: '*'}]
  inclusionList: ['failed']
  exclusionList: ['is invalid']
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: github, namespace: %[1]s}
spec: {type: github, address: %[4]s/org/notify-flux.git, secretRef: {name: github-token}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: github, namespace: %[1]s}
spec:
  providerRef: {name: github}
  eventSources: [{kind: Kustomization, name: good}]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: retry, namespace: %[1]s}
spec: {type: generic, address: %[5]s}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: retry, namespace: %[1]s}
spec:
  providerRef: {name: retry}
  eventSources: [{kind: Kustomization, name: good}]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: denied, namespace: %[1]s}
spec: {type: generic, secretRef: {name: denied-address}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: denied, namespace: %[1]s}
spec:
  providerRef: {name: denied}
  eventSources: [{kind: Kustomization, name: good}]
`, ns, hmacSink.URL, filterSink.URL, github.URL, retrySink.URL))
	objs = append(objs, applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: notify-flux, namespace: %[1]s}
spec: {interval: 2s, url: https://git.example.com/notify-flux.git}
`, ns))...)
	// The Kustomizations come once their source has an artifact: one
	// waiting for it fails, and that failure would be notified too.
	waitReady(t, c, ns, "notify-flux", 60*time.Second)
	objs = append(objs, applyYAML(t, fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: good, namespace: %[1]s}
spec: {interval: 1m, path: ./good, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: notify-flux}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: broken, namespace: %[1]s}
spec: {interval: 1m, path: ./broken, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: notify-flux}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: invalid, namespace: %[1]s}
spec: {interval: 1m, path: ./invalid, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: notify-flux}}
`, ns))...)
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})
	revision := "master@sha1:" + head

	t.Run("one signed generic-hmac POST per failure, nothing for info events", func(t *testing.T) {
		waitKustomization(t, c, ns, "good", "True", 60*time.Second)
		waitKustomization(t, c, ns, "broken", "False", 60*time.Second)
		waitKustomization(t, c, ns, "invalid", "False", 60*time.Second)
		eventually(t, 30*time.Second, "a POST for each failing Kustomization", func(context.Context) error {
			if n := len(hmacSink.requests()); n < 2 {
				return fmt.Errorf("%d POSTs", n)
			}
			return nil
		})
		time.Sleep(3 * time.Second) // a repeat would have come by now
		reqs := hmacSink.requests()
		about := map[string]int{}
		for i, ev := range fluxEvents(t, reqs) {
			r := reqs[i]
			if r.method != http.MethodPost || r.header.Get("Gotk-Component") != "kustomize-controller" {
				t.Errorf("request %s with Gotk-Component %q", r.method, r.header.Get("Gotk-Component"))
			}
			if want := flux.Sign(r.body, []byte(notifyHMACKey)); r.header.Get("X-Signature") != want {
				t.Errorf("X-Signature %q does not verify with the Secret's key (want %q)", r.header.Get("X-Signature"), want)
			}
			if ev.Severity != flux.SeverityError || ev.InvolvedObject.Kind != "Kustomization" || ev.Metadata[flux.MetaRevision] != revision {
				t.Errorf("event %+v: want an error about a Kustomization at %s", ev, revision)
			}
			about[ev.InvolvedObject.Name]++
		}
		if len(reqs) != 2 || about["broken"] != 1 || about["invalid"] != 1 {
			t.Errorf("POSTs about %v, want exactly one for broken and one for invalid, none for good", about)
		}
	})

	t.Run("inclusionList and exclusionList filter by message", func(t *testing.T) {
		eventually(t, 30*time.Second, "the filtered sink gets the build failure", func(context.Context) error {
			if len(filterSink.requests()) == 0 {
				return fmt.Errorf("nothing yet")
			}
			return nil
		})
		time.Sleep(2 * time.Second)
		evs := fluxEvents(t, filterSink.requests())
		if len(evs) != 1 || evs[0].InvolvedObject.Name != "broken" || !strings.Contains(evs[0].Message, "failed") {
			t.Errorf("filtered sink got %+v, want only broken's failure ('is invalid' is excluded)", evs)
		}
	})

	t.Run("a github Provider sets the applied commit's status", func(t *testing.T) {
		var provider notificationv1.Provider
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "github"}, &provider); err != nil {
			t.Fatal(err)
		}
		uid, _, _ := strings.Cut(string(provider.UID), "-")
		eventually(t, 30*time.Second, "a commit status", func(context.Context) error {
			if len(github.requests()) == 0 {
				return fmt.Errorf("no request yet")
			}
			return nil
		})
		r := github.requests()[0]
		if want := "/api/v3/repos/org/notify-flux/statuses/" + head; r.method != http.MethodPost || r.uri != want {
			t.Errorf("%s %s, want POST %s", r.method, r.uri, want)
		}
		if got := r.header.Get("Authorization"); got != "Bearer "+notifyGitHubToken {
			t.Errorf("Authorization %q, want the Secret's token", got)
		}
		var body map[string]string
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"state": "success", "context": "kustomization/good/" + uid, "description": "reconciliation succeeded"}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("status %s = %q, want %q (body %s)", k, body[k], v, r.body)
			}
		}
	})

	t.Run("a sink answering 500 is retried", func(t *testing.T) {
		eventually(t, 30*time.Second, "a second attempt", func(context.Context) error {
			if n := len(retrySink.requests()); n < 2 {
				return fmt.Errorf("%d attempts", n)
			}
			return nil
		})
		reqs := retrySink.requests()
		if string(reqs[0].body) != string(reqs[1].body) {
			t.Errorf("the retry sent another body:\n%s\n%s", reqs[0].body, reqs[1].body)
		}
		t.Logf("retried %s after the 500", reqs[1].at.Sub(reqs[0].at))
		time.Sleep(3 * time.Second)
		if n := len(retrySink.requests()); n != 2 {
			t.Errorf("%d attempts, want 2: the one answered 200 is the last", n)
		}
	})

	t.Run("a refused delivery is a Warning event on the Alert, without the address", func(t *testing.T) {
		eventually(t, 30*time.Second, "a NotificationDispatchFailed event on Alert denied", func(context.Context) error {
			if ev := alertEvents(t, c, ns, "denied"); !strings.Contains(ev, "NotificationDispatchFailed") || !strings.Contains(ev, "403") {
				return fmt.Errorf("events: %q", ev)
			}
			return nil
		})
		if n := len(deniedSink.requests()); n != 1 {
			t.Errorf("%d attempts at a sink answering 403, want 1 (no retry)", n)
		}
	})

	t.Run("a hung sink does not hold up reconciles", func(t *testing.T) {
		timing := srv.CreateRepo(t, "notify-timing")
		timing.Commit(t, "master", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notify-timing}\ndata: {round: '0'}\n"}, "round 0")
		hung := newNotifySink(t, nil)
		hung.hang = make(chan struct{})
		t.Cleanup(func() { close(hung.hang) })
		objs := applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: notify-timing, namespace: %[1]s}
spec: {interval: 1m, url: https://git.example.com/notify-timing.git}
`, ns))
		waitReady(t, c, ns, "notify-timing", 60*time.Second)
		objs = append(objs, applyYAML(t, fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: timing, namespace: %[1]s}
spec: {interval: 1m, path: ./app, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: notify-timing}}
`, ns))...)
		t.Cleanup(func() {
			for _, o := range objs {
				_ = c.Delete(context.Background(), o)
			}
		})
		waitKustomization(t, c, ns, "timing", "True", 60*time.Second)
		baseline := timeToApply(t, c, timing, ns, 1)
		objs = append(objs, applyYAML(t, fmt.Sprintf(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: hung, namespace: %[1]s}
spec: {type: generic, address: %[2]s, timeout: 1m}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: hung, namespace: %[1]s}
spec:
  providerRef: {name: hung}
  eventSources: [{kind: Kustomization, name: timing}]
`, ns, hung.URL))...)
		time.Sleep(time.Second) // the Alert reaches Tether's cache
		var slowest time.Duration
		for round := 2; round <= 3; round++ {
			slowest = max(slowest, timeToApply(t, c, timing, ns, round))
		}
		if len(hung.requests()) == 0 {
			t.Fatal("the hung sink got no request: the scenario did not exercise it")
		}
		t.Logf("time to apply a commit: %s without notifications, at most %s while the sink hangs", baseline, slowest)
		// One attempt at the hung sink lasts 15 s (the dispatcher's
		// deadline); a reconcile that waited for it would take that long.
		if slowest > baseline+10*time.Second {
			t.Errorf("a commit took %s to apply while the sink hung, %s without: the reconcile waited for the notification", slowest, baseline)
		}
	})

	t.Run("no token, signing key or webhook path in logs or events", func(t *testing.T) {
		logs := tether.Logs.String()
		var list corev1.EventList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var events strings.Builder
		for _, e := range list.Items {
			fmt.Fprintf(&events, "%s %s %s\n", e.InvolvedObject.Kind, e.Reason, e.Message)
		}
		for _, secret := range []string{notifyHMACKey, notifyGitHubToken, notifySecretPath} {
			if strings.Contains(logs, secret) {
				t.Errorf("tether's logs hold %q", secret)
			}
			if strings.Contains(events.String(), secret) {
				t.Errorf("the events hold %q", secret)
			}
		}
		if !strings.Contains(logs, "notification failed") {
			t.Errorf("the failed delivery was not logged")
		}
	})
}

// alertEvents returns the reasons and messages of the events about Alert
// ns/name, one per line.
func alertEvents(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	var list corev1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == notificationv1.AlertKind && e.InvolvedObject.Name == name {
			fmt.Fprintf(&b, "%s %s\n", e.Reason, e.Message)
		}
	}
	return b.String()
}

// timeToApply commits a new value to the timing repository, asks its
// GitRepository to fetch, and returns how long Kustomization timing took
// to apply that commit.
func timeToApply(t *testing.T, c client.Client, repo *gitserver.Repo, ns string, round int) time.Duration {
	t.Helper()
	head := repo.Commit(t, "master", map[string]string{"app/cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notify-timing}\ndata: {round: '%d'}\n", round)}, fmt.Sprintf("round %d", round))
	start := time.Now()
	requestGitReconcileIn(t, c, ns, "notify-timing")
	eventually(t, 90*time.Second, fmt.Sprintf("round %d applied", round), func(ctx context.Context) error {
		var ks kustomizev1.Kustomization
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "timing"}, &ks); err != nil {
			return err
		}
		if ks.Status.LastAppliedRevision != "master@sha1:"+head {
			return fmt.Errorf("lastAppliedRevision %s", ks.Status.LastAppliedRevision)
		}
		return nil
	})
	return time.Since(start)
}

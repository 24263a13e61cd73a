package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// Values of argocd-notifications-secret that must never show in Tether's
// logs, events or status.
const (
	argoSlackToken   = "xoxb-e2e-slack-token-3c9d1f"
	argoHookSecret   = "hook-secret-e2e-8a2b7e"
	argoMailPassword = "mail-password-e2e-51f0"
)

// argoSink is a loopback HTTP server standing for Slack's API or a
// webhook: it records requests and answers with answer's status and body.
type argoSink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []argoRequest
	answer func(n int, r argoRequest) (int, string) // for the n-th request (from 1)
}

type argoRequest struct {
	method, path string
	header       http.Header
	body         []byte
	status       int
}

func newArgoSink(t *testing.T, answer func(n int, r argoRequest) (int, string)) *argoSink {
	t.Helper()
	s := &argoSink{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := argoRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body}
		s.mu.Lock()
		n := len(s.got) + 1
		status, text := s.answer(n, req)
		req.status = status
		s.got = append(s.got, req)
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *argoSink) requests() []argoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]argoRequest(nil), s.got...)
}

// slackMessage is the part of chat.postMessage's request the test reads.
type slackMessage struct {
	Channel     string `json:"channel"`
	Text        string `json:"text"`
	Attachments []struct {
		Title     string `json:"title"`
		TitleLink string `json:"title_link"`
		Color     string `json:"color"`
		Fields    []struct {
			Title string `json:"title"`
			Value string `json:"value"`
		} `json:"fields"`
	} `json:"attachments"`
}

// slackTo returns the Slack messages posted to channel.
func slackTo(t *testing.T, s *argoSink, channel string) ([]slackMessage, []argoRequest) {
	t.Helper()
	var msgs []slackMessage
	var reqs []argoRequest
	for _, r := range s.requests() {
		var m slackMessage
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("a request to the Slack API that is not JSON: %v: %s", err, r.body)
		}
		if m.Channel == channel {
			msgs, reqs = append(msgs, m), append(reqs, r)
		}
	}
	return msgs, reqs
}

// mailServer is a real SMTP server on loopback (emersion/go-smtp) that
// keeps every mail it accepts.
type mailServer struct {
	addr  string
	mu    sync.Mutex
	mails []receivedMail
}

type receivedMail struct {
	from, to, data, user, password string
}

func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	m := &mailServer{}
	srv := smtp.NewServer(m)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return m
}

func (m *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{srv: m}, nil }

func (m *mailServer) received() []receivedMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]receivedMail(nil), m.mails...)
}

type mailSession struct {
	srv *mailServer
	cur receivedMail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		s.cur.user, s.cur.password = user, password
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.cur.to = to; return nil }
func (s *mailSession) Reset()                                      {}
func (s *mailSession) Logout() error                               { return nil }

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.cur.data = string(b)
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, s.cur)
	s.srv.mu.Unlock()
	return err
}

// notifyApp is an automated Application of repo's folder path deployed
// to namespace name, with annotations.
func notifyApp(name, project, repo, path, annotations string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
  annotations: {%s}
spec:
  project: %s
  source: {repoURL: "https://git.example.com/%s.git", targetRevision: HEAD, path: %s}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
`, name, annotations, project, repo, path, name)
}

// notificationSettings are argocd-notifications-cm and -secret for the
// loopback services.
func notificationSettings(slackURL, hookURL, mailAddr string) string {
	host, port, _ := net.SplitHostPort(mailAddr)
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: argocd-notifications-secret, namespace: argocd}
stringData:
  slack-token: %s
  hook-secret: %s
  email-password: %s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-notifications-cm, namespace: argocd}
data:
  context: |
    argocdUrl: https://argocd.example.com
  service.slack: |
    token: $slack-token
    apiURL: %s/api/
  service.webhook.failure-hook: |
    url: %s/hooks
    headers:
    - name: X-Hook-Secret
      value: $hook-secret
  service.email: |
    host: %s
    port: %s
    from: argocd@example.com
    username: argocd
    password: $email-password
  template.failure-hook: |
    webhook:
      failure-hook:
        method: POST
        path: /failed/{{.app.metadata.name}}
        body: |
          {"app": {{toJson .app.metadata.name}}, "phase": {{toJson .app.status.operationState.phase}},
           "revision": {{toJson .app.status.operationState.syncResult.revision}}, "message": {{toJson .app.status.operationState.message}}}
  trigger.on-sync-failed: |
    - description: Application syncing has failed
      oncePer: app.status.operationState?.syncResult?.revision
      send: [app-sync-failed, failure-hook]
      when: app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']
`, argoSlackToken, argoHookSecret, argoMailPassword, slackURL, hookURL, host, port)
}

// stopTether ends a tether process as a rolling update would.
func stopTether(t *testing.T, tether *testenv.Tether) {
	t.Helper()
	_ = tether.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = tether.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("tether did not stop within 30s of SIGTERM")
	}
}

// TestArgoNotifications runs Argo CD's notifications against real
// loopback services: a synced app's subscription to on-sync-succeeded
// posts the catalog's Slack message to a Slack-shaped API, and the seed's
// guestbook (01) gets on-sync-succeeded then on-deployed; its project's
// email subscription reaches a real SMTP server; a failing app's
// webhook payload arrives, retried after 500s; a refused delivery is a
// Warning event; each notification is sent once, neither again on later
// reconciles nor after a restart (the notified annotation); and the
// Slack token, the webhook secret and the mail password never show in
// Tether's logs, events or status.
func TestArgoNotifications(t *testing.T) {
	c := kubeClient(t)
	slack := newArgoSink(t, func(_ int, r argoRequest) (int, string) {
		if strings.Contains(string(r.body), `"channel":"no-such-channel"`) {
			return 200, `{"ok":false,"error":"channel_not_found"}`
		}
		return 200, `{"ok":true,"channel":"C1","ts":"1.1"}`
	})
	hook := newArgoSink(t, func(n int, _ argoRequest) (int, string) {
		if n <= 2 {
			return 500, "try again"
		}
		return 204, ""
	})
	mail := startMailServer(t)

	srv := gitserver.New(t, gitserver.Options{})
	good := srv.CreateRepo(t, "notify-good")
	first := good.Commit(t, "master", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {version: one}\n"}, "one")
	bad := srv.CreateRepo(t, "notify-bad")
	broken := bad.Commit(t, "master", map[string]string{
		"app/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {version: one}\n",
		"app/broken.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec:\n  replicas: two\n  selector: {matchLabels: {app: broken}}\n  template:\n    metadata: {labels: {app: broken}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
	}, "broken")

	examples := srv.CreateRepo(t, "argocd-example-apps")
	guestbook := examples.Commit(t, "master", guestbookFiles(t), "guestbook")

	settings := applyYAML(t, notificationSettings(slack.URL, hook.URL, mail.addr))
	project := applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: notify
  namespace: argocd
  annotations: {notifications.argoproj.io/subscribe.on-sync-succeeded.email: team@example.com}
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
`)
	t.Cleanup(func() {
		for _, o := range append(settings, project...) {
			_ = c.Delete(context.Background(), o)
		}
	})
	metricsAddr := freeAddr(t)
	args := []string{"--url-rewrite", "https://git.example.com/notify-good.git=" + good.URL,
		"--url-rewrite", "https://git.example.com/notify-bad.git=" + bad.URL,
		"--url-rewrite", "https://github.com/argoproj/argocd-example-apps.git=" + examples.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s"}
	tether := startTether(t, append(args, "--metrics-addr", metricsAddr)...)
	applyYAML(t, notifyApp("notify-ok", "notify", "notify-good", "app", `notifications.argoproj.io/subscribe.on-sync-succeeded.slack: my-channel`))
	applyYAML(t, notifyApp("notify-failing", "default", "notify-bad", "app", `notifications.argoproj.io/subscribe.on-sync-failed.failure-hook: ""`))
	applyYAML(t, notifyApp("notify-refused", "default", "notify-good", "app", `notifications.argoproj.io/subscribe.on-sync-succeeded.slack: no-such-channel`))
	// Earlier tests may have left the guestbook's objects: without them
	// the app has something to sync (and so to notify about).
	for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
		o.SetNamespace("guestbook")
		o.SetName("guestbook-ui")
		_ = c.Delete(context.Background(), o, client.PropagationPolicy(metav1.DeletePropagationForeground))
		eventually(t, 60*time.Second, "leftover guestbook-ui gone", func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
	}
	// The seed's guestbook as written, subscribed to the catalog's
	// on-sync-succeeded and on-deployed.
	seed := seedObjects(t, filepath.Join(seedDir, "01-argo-application-guestbook.yaml"))[0]
	seed.SetAnnotations(map[string]string{
		"notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "deployments",
		"notifications.argoproj.io/subscribe.on-deployed.slack":       "deployments",
	})
	if _, err := newApplier(t).Apply(context.Background(), seed); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"notify-ok", "notify-failing", "notify-refused", "guestbook"} {
		t.Cleanup(func() { deleteApp(t, c, "argocd", name) })
	}
	t.Cleanup(func() { // leave namespace guestbook as the other tests expect it
		for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
			o.SetNamespace("guestbook")
			o.SetName("guestbook-ui")
			_ = c.Delete(context.Background(), o)
		}
	})

	t.Run("a synced app's Slack subscription posts the catalog's rendered template", func(t *testing.T) {
		waitApp(t, c, "argocd", "notify-ok", first, "Synced", "Healthy", 90*time.Second)
		var msgs []slackMessage
		var reqs []argoRequest
		eventually(t, 30*time.Second, "a Slack message to my-channel", func(context.Context) error {
			if msgs, reqs = slackTo(t, slack, "my-channel"); len(msgs) == 0 {
				return fmt.Errorf("none yet (%d requests to the Slack API)", len(slack.requests()))
			}
			return nil
		})
		m, r := msgs[0], reqs[0]
		if r.method != http.MethodPost || r.path != "/api/chat.postMessage" || r.header.Get("Authorization") != "Bearer "+argoSlackToken {
			t.Errorf("%s %s, Authorization %q", r.method, r.path, r.header.Get("Authorization"))
		}
		if !strings.HasPrefix(m.Text, ":white_check_mark: Application notify-ok has been successfully synced at ") ||
			!strings.Contains(m.Text, "https://argocd.example.com/applications/notify-ok?operation=true") {
			t.Errorf("text %q", m.Text)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Title != "notify-ok" || m.Attachments[0].Color != "#18be52" ||
			m.Attachments[0].TitleLink != "https://argocd.example.com/applications/notify-ok" {
			t.Fatalf("attachments %+v", m.Attachments)
		}
		fields := map[string]string{}
		for _, f := range m.Attachments[0].Fields {
			fields[f.Title] = f.Value
		}
		if fields["Sync Status"] != "Synced" || fields["Repository"] != "https://git.example.com/notify-good.git" {
			t.Errorf("fields %v", fields)
		}
	})

	t.Run("the seed's guestbook: synced, then deployed once its Deployment is available", func(t *testing.T) {
		waitApp(t, c, "argocd", "guestbook", guestbook, "Synced", "Healthy", 90*time.Second)
		var texts []string
		eventually(t, 30*time.Second, "on-sync-succeeded and on-deployed messages", func(context.Context) error {
			msgs, _ := slackTo(t, slack, "deployments")
			texts = texts[:0]
			for _, m := range msgs {
				texts = append(texts, m.Text)
			}
			if len(texts) < 2 {
				return fmt.Errorf("messages %q", texts)
			}
			return nil
		})
		joined := strings.Join(texts, "\n")
		if len(texts) != 2 || !strings.Contains(joined, "Application guestbook has been successfully synced at") ||
			!strings.Contains(joined, "Application guestbook is now running new version of deployments manifests.") {
			t.Errorf("messages %q", texts)
		}
	})

	t.Run("the project's email subscription reaches a real SMTP server", func(t *testing.T) {
		eventually(t, 30*time.Second, "a mail to team@example.com", func(context.Context) error {
			if len(mail.received()) == 0 {
				return fmt.Errorf("no mail yet")
			}
			return nil
		})
		m := mail.received()[0]
		if m.from != "argocd@example.com" || m.to != "team@example.com" || m.user != "argocd" || m.password != argoMailPassword {
			t.Errorf("mail from %q to %q as %q", m.from, m.to, m.user)
		}
		if !strings.Contains(m.data, "Subject: Application notify-ok has been successfully synced.\r\n") ||
			!strings.Contains(m.data, "Application notify-ok has been successfully synced at") {
			t.Errorf("mail:\n%s", m.data)
		}
	})

	t.Run("a failed sync's webhook payload arrives, retried after two 500s", func(t *testing.T) {
		eventually(t, 90*time.Second, "the webhook delivered", func(context.Context) error {
			reqs := hook.requests()
			if len(reqs) < 3 {
				return fmt.Errorf("%d requests", len(reqs))
			}
			return nil
		})
		reqs := hook.requests()
		if len(reqs) != 3 || reqs[0].status != 500 || reqs[1].status != 500 || reqs[2].status != 204 {
			t.Errorf("%d requests, statuses %d %d %d", len(reqs), reqs[0].status, reqs[1].status, reqs[2].status)
		}
		r := reqs[2]
		if r.method != http.MethodPost || r.path != "/hooks/failed/notify-failing" || r.header.Get("X-Hook-Secret") != argoHookSecret {
			t.Errorf("%s %s, X-Hook-Secret %q", r.method, r.path, r.header.Get("X-Hook-Secret"))
		}
		var body struct{ App, Phase, Revision, Message string }
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if body.App != "notify-failing" || body.Phase != "Failed" || body.Revision != broken || !strings.Contains(body.Message, "broken") {
			t.Errorf("payload %+v", body)
		}
	})

	t.Run("a refused delivery is a Warning event on the app, and counted", func(t *testing.T) {
		var note string
		eventually(t, 60*time.Second, "a NotificationFailed event on notify-refused", func(ctx context.Context) error {
			var events corev1.EventList
			if err := c.List(ctx, &events, client.InNamespace("argocd")); err != nil {
				return err
			}
			for _, e := range events.Items {
				if e.InvolvedObject.Name == "notify-refused" && e.Reason == "NotificationFailed" && e.Type == corev1.EventTypeWarning {
					note = e.Message
					return nil
				}
			}
			return fmt.Errorf("none among %d events", len(events.Items))
		})
		if !strings.Contains(note, "channel_not_found") || !strings.Contains(note, "on-sync-succeeded") || !strings.Contains(note, "slack:no-such-channel") {
			t.Errorf("event %q", note)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		const series = `argocd_notifications_deliveries_total{notifier="slack",service="slack",succeeded="%s",trigger="on-sync-succeeded"}`
		// Sent: notify-ok's and the guestbook's; refused: notify-refused's.
		for succeeded, want := range map[string]float64{"true": 2, "false": 1} {
			if v, err := metric(ctx, metricsAddr, fmt.Sprintf(series, succeeded)); err != nil || v != want {
				t.Errorf("deliveries succeeded=%s: %v (%v), want %v", succeeded, v, err, want)
			}
		}
		if v, err := metric(ctx, metricsAddr, `argocd_notifications_trigger_eval_total{name="on-sync-failed",triggered="true"}`); err != nil || v < 1 {
			t.Errorf("trigger evaluations: %v (%v)", v, err)
		}
	})

	t.Run("a subscription added to the project applies to its apps at once", func(t *testing.T) {
		var proj argov1.AppProject
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "notify"}, &proj); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(proj.DeepCopy())
		proj.Annotations["notifications.argoproj.io/subscribe.on-created.slack"] = "project-channel"
		if err := c.Patch(context.Background(), &proj, patch); err != nil {
			t.Fatal(err)
		}
		var msgs []slackMessage
		eventually(t, 30*time.Second, "the catalog's on-created message to project-channel", func(context.Context) error {
			if msgs, _ = slackTo(t, slack, "project-channel"); len(msgs) == 0 {
				return fmt.Errorf("none yet")
			}
			return nil
		})
		if len(msgs) != 1 || msgs[0].Text != "Application notify-ok has been created." {
			t.Errorf("messages %+v: want one, for notify-ok, the only app of the project", msgs)
		}
	})

	counts := func() (slackOK, mails, hooks int) {
		msgs, _ := slackTo(t, slack, "my-channel")
		return len(msgs), len(mail.received()), len(hook.requests())
	}
	t.Run("sent once: not again on later reconciles, nor after a restart", func(t *testing.T) {
		var app argov1.Application
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "notify-ok"}, &app); err != nil {
			t.Fatal(err)
		}
		state := map[string]int64{}
		if err := json.Unmarshal([]byte(app.Annotations["notified.notifications.argoproj.io"]), &state); err != nil {
			t.Fatalf("notified annotation %q: %v", app.Annotations["notified.notifications.argoproj.io"], err)
		}
		found := false
		for k := range state {
			found = found || (strings.HasPrefix(k, first+":on-sync-succeeded:[0].") && strings.HasSuffix(k, ":slack:my-channel"))
		}
		if !found {
			t.Errorf("notified state %v has no key <revision>:on-sync-succeeded:[0].<hash>:slack:my-channel", state)
		}
		time.Sleep(8 * time.Second) // four resync periods
		if s, m, h := counts(); s != 1 || m != 1 || h != 3 {
			t.Fatalf("after more reconciles: %d Slack messages, %d mails, %d webhook requests; want 1, 1, 3", s, m, h)
		}

		stopTether(t, tether)
		tether2 := startTether(t, args...)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("first tether's logs:\n%s", tether.Logs.String())
			}
		})
		eventually(t, 60*time.Second, "the new process reconciles", func(context.Context) error {
			if !strings.Contains(tether2.Logs.String(), `"notifications"`) {
				return fmt.Errorf("no notifications controller in its logs yet")
			}
			return nil
		})
		time.Sleep(8 * time.Second)
		if s, m, h := counts(); s != 1 || m != 1 || h != 3 {
			t.Fatalf("after a restart: %d Slack messages, %d mails, %d webhook requests; want 1, 1, 3", s, m, h)
		}

		// A new revision is a new sync: notified once more, by the new process.
		second := good.Commit(t, "master", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {version: two}\n"}, "two")
		waitApp(t, c, "argocd", "notify-ok", second, "Synced", "Healthy", 60*time.Second)
		eventually(t, 30*time.Second, "a second Slack message and mail", func(context.Context) error {
			if s, m, _ := counts(); s != 2 || m != 2 {
				return fmt.Errorf("%d Slack messages, %d mails", s, m)
			}
			return nil
		})
		time.Sleep(6 * time.Second)
		if s, m, h := counts(); s != 2 || m != 2 || h != 3 {
			t.Errorf("then: %d Slack messages, %d mails, %d webhook requests; want 2, 2, 3", s, m, h)
		}
		if created, _ := slackTo(t, slack, "project-channel"); len(created) != 1 {
			t.Errorf("%d on-created messages; want 1 (oncePer the app's name)", len(created))
		}
		if deployed, _ := slackTo(t, slack, "deployments"); len(deployed) != 2 {
			t.Errorf("%d messages about the guestbook; want 2 (synced and deployed, once per revision)", len(deployed))
		}
		logs := tether.Logs.String() + tether2.Logs.String()
		t.Run("no secret in logs, events or status", func(t *testing.T) {
			var events corev1.EventList
			if err := c.List(context.Background(), &events, client.InNamespace("argocd")); err != nil {
				t.Fatal(err)
			}
			eventText, _ := json.Marshal(events.Items)
			var apps argov1.ApplicationList
			if err := c.List(context.Background(), &apps, client.InNamespace("argocd")); err != nil {
				t.Fatal(err)
			}
			appText, _ := json.Marshal(apps.Items)
			for _, secret := range []string{argoSlackToken, argoHookSecret, argoMailPassword} {
				for where, text := range map[string]string{"logs": logs, "events": string(eventText), "applications": string(appText)} {
					if strings.Contains(text, secret) {
						t.Errorf("%s… appears in %s", secret[:8], where)
					}
				}
			}
			if !strings.Contains(string(eventText), "NotificationFailed") {
				t.Error("no NotificationFailed event: the check of events proves nothing")
			}
		})
	})
}

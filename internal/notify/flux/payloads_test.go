package flux

import (
	"context"
	"crypto/sha1" //nolint:gosec // recomputes the ids the providers make
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// sink is a loopback HTTP server that records the requests it gets.
type sink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []captured
	status int
}

type captured struct {
	method, path, uri string
	header            http.Header
	body              []byte
}

func newSink(t *testing.T) *sink {
	s := &sink{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, captured{r.Method, r.URL.Path, r.RequestURI, r.Header.Clone(), body})
		status := s.status
		s.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) requests() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]captured(nil), s.got...)
}

// testEvent is an error event about Kustomization apps/web with a
// revision and a summary, as the router hands it to a provider.
func testEvent() *Event {
	return &Event{
		InvolvedObject: corev1.ObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization",
			Namespace: "apps", Name: "web", UID: "5d1c9a3e-0000-4000-8000-000000000001"},
		Severity: SeverityError, Timestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Message: "health check failed", Reason: "HealthCheckFailed",
		Metadata:            map[string]string{MetaRevision: "main@sha1:" + sha, MetaSummary: "prod cluster"},
		ReportingController: "kustomize-controller", ReportingInstance: "tether-0",
	}
}

// jsonOf normalizes v (a Go value or JSON text) for comparison.
func jsonOf(t *testing.T, v any) any {
	t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return out
}

type obj = map[string]any
type arr = []any

var slackFields = arr{obj{"title": "revision", "value": "main@sha1:" + sha, "short": false}, obj{"title": "summary", "value": "prod cluster", "short": false}}

// TestPayloads delivers testEvent through every provider type to a
// loopback server and checks method, path, headers and the body's shape
// against what Flux's notification-controller sends.
func TestPayloads(t *testing.T) {
	eventJSON, _ := json.Marshal(testEvent())
	for _, tc := range []struct {
		typ     string
		path    string // appended to the server's URL for the address
		setup   func(*target)
		method  string
		uri     string
		headers map[string]string
		body    any
	}{
		{typ: "generic", path: "/hook", setup: func(t *target) { t.headers = map[string]string{"X-Custom": "v"} },
			method: "POST", uri: "/hook", headers: map[string]string{"Gotk-Component": "kustomize-controller", "X-Custom": "v", "Content-Type": "application/json"},
			body: eventJSON},
		{typ: "generic-hmac", path: "/hook", setup: func(t *target) { t.token = "signing-key" },
			method: "POST", uri: "/hook", headers: map[string]string{"Gotk-Component": "kustomize-controller",
				"X-Signature": Sign(eventJSON, []byte("signing-key"))}, body: eventJSON},
		{typ: "slack", path: "/api/chat.postMessage", setup: func(t *target) { t.channel, t.token = "general", "xoxb-1" },
			method: "POST", uri: "/api/chat.postMessage", headers: map[string]string{"Authorization": "Bearer xoxb-1"},
			body: obj{"channel": "general", "username": "kustomize-controller", "icon_url": "", "icon_emoji": "",
				"attachments": arr{obj{"color": "danger", "author_name": "kustomization/web.apps", "text": "health check failed", "mrkdwn_in": arr{"text"}, "fields": slackFields}}}},
		{typ: "discord", path: "/api/webhooks/1/tok", setup: func(t *target) { t.username = "flux" },
			method: "POST", uri: "/api/webhooks/1/tok/slack",
			body: obj{"channel": "", "username": "flux", "icon_url": "", "icon_emoji": "",
				"attachments": arr{obj{"color": "danger", "author_name": "kustomization/web.apps", "text": "health check failed", "mrkdwn_in": arr{"text"}, "fields": slackFields}}}},
		{typ: "rocket", path: "/hooks/x", setup: func(t *target) { t.channel, t.username = "ops", "flux" },
			method: "POST", uri: "/hooks/x",
			body: obj{"channel": "ops", "username": "flux", "icon_url": "", "icon_emoji": "",
				"attachments": arr{obj{"color": "#FF0000", "author_name": "kustomization/web.apps", "text": "health check failed", "mrkdwn_in": arr{"text"}, "fields": slackFields}}}},
		{typ: "msteams", path: "/workflows/x", method: "POST", uri: "/workflows/x",
			body: obj{"type": "message", "attachments": arr{obj{"contentType": "application/vnd.microsoft.card.adaptive", "content": obj{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "msteams": obj{"width": "Full"},
				"body": arr{obj{"type": "Container", "items": arr{
					obj{"type": "TextBlock", "text": "kustomization/web.apps", "size": "large", "weight": "bolder", "wrap": true},
					obj{"type": "TextBlock", "text": "health check failed", "color": "attention", "wrap": true},
					obj{"type": "FactSet", "facts": arr{obj{"title": "summary", "value": "prod cluster"}, obj{"title": "revision", "value": "main@sha1:" + sha}}},
				}}}}}}}},
		{typ: "googlechat", path: "/v1/spaces/x", method: "POST", uri: "/v1/spaces/x",
			body: obj{"cards": arr{obj{
				"header": obj{"title": "kustomization/web.apps", "subtitle": "kustomize-controller", "imageUrl": nil, "imageStyle": nil},
				"sections": arr{
					obj{"header": "", "widgets": arr{obj{"textParagraph": obj{"text": `<font color="#ff0000">health check failed</font>`}, "keyValue": nil}}},
					obj{"header": "", "widgets": arr{
						obj{"textParagraph": nil, "keyValue": obj{"topLabel": "TIMESTAMP", "content": testEvent().Timestamp.String(), "contentMultiline": false, "bottomLabel": nil, "icon": nil}},
						obj{"textParagraph": nil, "keyValue": obj{"topLabel": "revision", "content": "main@sha1:" + sha, "contentMultiline": false, "bottomLabel": nil, "icon": nil}},
						obj{"textParagraph": nil, "keyValue": obj{"topLabel": "summary", "content": "prod cluster", "contentMultiline": false, "bottomLabel": nil, "icon": nil}},
					}}}}}}},
		{typ: "webex", path: "/v1/messages", setup: func(t *target) { t.channel, t.token = "room-1", "bot-token" },
			method: "POST", uri: "/v1/messages", headers: map[string]string{"Authorization": "Bearer bot-token"},
			body: obj{"roomId": "room-1", "markdown": "💣 **kustomization/web.apps**\nhealth check failed\n>**revision**: main@sha1:" + sha + "\n>**summary**: prod cluster\n"}},
		{typ: "matrix", setup: func(t *target) { t.channel, t.token = "!room:example.org", "mx-token" },
			method: "PUT", uri: "/_matrix/client/r0/rooms/%21room:example.org/send/m.room.message/" + fmt.Sprintf("%x", sha1.Sum(eventJSON)), //nolint:gosec // as the provider
			headers: map[string]string{"Authorization": "Bearer mx-token"},
			body:    obj{"msgtype": "m.text", "body": "🚨 kustomization/web.apps\nhealth check failed\n- revision: main@sha1:" + sha + "\n- summary: prod cluster\n"}},
		{typ: "telegram", setup: func(t *target) { t.channel, t.token = "-100:7", "123:abc" },
			method: "POST", uri: "/bot123:abc/sendMessage",
			body: obj{"chat_id": "-100", "message_thread_id": "7", "parse_mode": "MarkdownV2",
				"text": "*🚨 kustomization/web/apps*\nhealth check failed\n\\- *revision*: main@sha1:" + sha + "\n\\- *summary*: prod cluster\n"}},
		{typ: "alertmanager", path: "/api/v2/alerts", setup: func(t *target) { t.token = "am" },
			method: "POST", uri: "/api/v2/alerts", headers: map[string]string{"Authorization": "Bearer am"},
			body: arr{obj{"status": "firing", "startsAt": "2026-01-02T03:04:05Z",
				"annotations": obj{"message": "health check failed", "summary": "prod cluster"},
				"labels": obj{"alertname": "FluxKustomizationHealthCheckFailed", "severity": "error", "reason": "HealthCheckFailed",
					"kind": "Kustomization", "name": "web", "namespace": "apps", "reportingcontroller": "kustomize-controller", "revision": "main@sha1:" + sha}}}},
		{typ: "grafana", path: "/api/annotations", setup: func(t *target) { t.username, t.password = "admin", "pw" },
			method: "POST", uri: "/api/annotations", headers: map[string]string{"Authorization": "Basic YWRtaW46cHc="},
			body: obj{"when": float64(testEvent().Timestamp.Unix()), "text": "kustomization/web.apps",
				"tags": arr{"flux", "kustomize-controller", "revision: main@sha1:" + sha, "summary: prod cluster"}}},
		{typ: "github", path: "/org/repo.git", setup: func(t *target) { t.token = "ghp" },
			method: "POST", uri: "/api/v3/repos/org/repo/statuses/" + sha,
			headers: map[string]string{"Authorization": "Bearer ghp", "Accept": "application/vnd.github.v3+json"},
			body:    obj{"state": "failure", "context": "kustomization/web/5d1c9a3e", "description": "health check failed"}},
		{typ: "gitlab", path: "/group/sub/repo", setup: func(t *target) { t.token = "glpat" },
			method: "POST", uri: "/api/v4/projects/group%2Fsub%2Frepo/statuses/" + sha, headers: map[string]string{"Private-Token": "glpat"},
			body: obj{"state": "failed", "name": "kustomization/web/5d1c9a3e", "description": "health check failed"}},
		{typ: "gitea", path: "/org/repo", setup: func(t *target) { t.token = "gt" },
			method: "POST", uri: "/api/v1/repos/org/repo/statuses/" + sha, headers: map[string]string{"Authorization": "token gt"},
			body: obj{"state": "failure", "target_url": "", "context": "kustomization/web/5d1c9a3e", "description": "health check failed"}},
		{typ: "bitbucket", path: "/org/repo", setup: func(t *target) { t.token = "user:app-pass" },
			method: "POST", uri: "/2.0/repositories/org/repo/commit/" + sha + "/statuses/build", headers: map[string]string{"Authorization": "Basic dXNlcjphcHAtcGFzcw=="},
			body: obj{"state": "FAILED", "key": fmt.Sprintf("%x", sha1.Sum([]byte("kustomization/web/5d1c9a3e"))), //nolint:gosec // as the provider
				"name": "kustomization/web/5d1c9a3e", "description": "health check failed", "url": "https://bitbucket.org"}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			srv := newSink(t)
			tgt := &target{typ: tc.typ, uid: "5d1c9a3e-1111-4000-8000-000000000002", address: srv.URL + tc.path, client: srv.Client(), masks: &redact.Values{}}
			if tc.setup != nil {
				tc.setup(tgt)
			}
			if err := tgt.deliver(context.Background(), testEvent()); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != tc.method || r.uri != tc.uri {
				t.Errorf("%s %s, want %s %s", r.method, r.uri, tc.method, tc.uri)
			}
			for k, v := range tc.headers {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if got, want := jsonOf(t, r.body), jsonOf(t, tc.body); !reflect.DeepEqual(got, want) {
				gotJSON, _ := json.MarshalIndent(got, "", " ")
				wantJSON, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("body:\n%s\nwant:\n%s", gotJSON, wantJSON)
			}
		})
	}
}

func TestEveryProviderTypeIsTested(t *testing.T) {
	// Keep TestPayloads in step with the builders.
	tested := "generic generic-hmac slack discord rocket msteams googlechat webex matrix telegram alertmanager grafana github gitlab gitea bitbucket"
	for typ := range builders {
		if !strings.Contains(" "+tested+" ", " "+typ+" ") {
			t.Errorf("provider type %s has no payload test", typ)
		}
	}
}

func TestTeamsConnectorCard(t *testing.T) {
	req, err := msteams(&target{address: "https://contoso.webhook.office.com/webhookb2/x"}, testEvent())
	if err != nil {
		t.Fatal(err)
	}
	want := obj{"@type": "MessageCard", "@context": "http://schema.org/extensions", "themeColor": "FF0000", "summary": "kustomization/web.apps",
		"sections": arr{obj{"activityTitle": "health check failed", "activitySubtitle": "kustomization/web.apps",
			"facts": arr{obj{"name": "revision", "value": "main@sha1:" + sha}, obj{"name": "summary", "value": "prod cluster"}}}}}
	if got := jsonOf(t, req.body); !reflect.DeepEqual(got, jsonOf(t, want)) {
		t.Errorf("body %s", req.body)
	}
}

// TestSkippedAndRefused: events a provider does not report send nothing;
// a Provider that cannot work fails for good, without a retry.
func TestSkippedAndRefused(t *testing.T) {
	progressing := testEvent()
	progressing.Severity, progressing.Reason = SeverityInfo, "Progressing"
	applied := testEvent()
	applied.Severity, applied.Reason, applied.Subject.ReadyReason = SeverityInfo, "Progressing", "ReconciliationSucceeded"
	chart := testEvent()
	chart.Metadata = map[string]string{MetaRevision: "6.5.0"}
	for _, tc := range []struct {
		name      string
		typ       string
		setup     func(*target)
		ev        *Event
		sent      bool
		permanent bool
		body      string // a part of the body sent
	}{
		{name: "a commit status skips Progressing mid-reconcile", typ: "github", ev: progressing},
		{name: "gitea shows Progressing as pending", typ: "gitea", ev: progressing, sent: true, body: `"state":"pending"`},
		{name: "Progressing after a successful apply is a success", typ: "github", ev: applied, sent: true, body: `"description":"reconciliation succeeded"`},
		{name: "a revision without a commit", typ: "github", ev: chart, permanent: true},
		{name: "commitStatusExpr is refused", typ: "gitlab", ev: testEvent(), setup: func(t *target) { t.statusExpr = "'x'" }, permanent: true},
		{name: "no token for a commit status", typ: "gitea", ev: testEvent(), setup: func(t *target) { t.token = "" }, permanent: true},
		{name: "generic-hmac without a key", typ: "generic-hmac", ev: testEvent(), setup: func(t *target) { t.token = "" }, permanent: true},
		{name: "no address", typ: "slack", ev: testEvent(), setup: func(t *target) { t.address = "" }, permanent: true},
		{name: "google chat skips Progressing", typ: "googlechat", ev: progressing},
		{name: "an unknown type", typ: "sentry", ev: testEvent(), permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSink(t)
			tgt := &target{typ: tc.typ, uid: "u", address: srv.URL + "/org/repo", token: "tok", client: srv.Client(), masks: &redact.Values{}}
			if tc.setup != nil {
				tc.setup(tgt)
			}
			err := tgt.deliver(context.Background(), tc.ev)
			if tc.permanent != (err != nil && notify.IsPermanent(err)) {
				t.Errorf("error %v, permanent wanted: %v", err, tc.permanent)
			}
			reqs := srv.requests()
			if tc.sent != (len(reqs) == 1) {
				t.Fatalf("%d requests sent, want sent=%v", len(reqs), tc.sent)
			}
			if tc.sent && !strings.Contains(string(reqs[0].body), tc.body) {
				t.Errorf("body %s lacks %s", reqs[0].body, tc.body)
			}
		})
	}
}

// TestDeliveryErrorsHoldNoSecret: a failed delivery's error names
// neither the token, nor a webhook URL's path, nor a header's value.
func TestDeliveryErrorsHoldNoSecret(t *testing.T) {
	srv := newSink(t)
	srv.status = http.StatusInternalServerError
	for _, tc := range []struct {
		typ, path, token string
		headers          map[string]string
	}{
		{typ: "slack", path: "/services/T0/B0/hook-secret-path"},
		{typ: "telegram", token: "4242:telegram-secret-token"},
		{typ: "generic", path: "/hook", headers: map[string]string{"Authorization": "header-secret-value"}},
		{typ: "generic-hmac", path: "/hook", token: "hmac-secret-key"},
		{typ: "github", path: "/org/repo", token: "ghp_secret_token"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			masks := &redact.Values{}
			masks.Add(tc.path, tc.token)
			for _, v := range tc.headers {
				masks.Add(v)
			}
			tgt := &target{typ: tc.typ, uid: "u", address: srv.URL + tc.path, channel: "c", token: tc.token, headers: tc.headers, client: srv.Client(), masks: masks}
			err := tgt.deliver(context.Background(), testEvent())
			if err == nil || notify.IsPermanent(err) {
				t.Fatalf("error %v, want a retryable failure", err)
			}
			for _, secret := range append([]string{tc.path, tc.token}, "header-secret-value") {
				if secret != "" && secret != "/hook" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds %q", err, secret)
				}
			}
		})
	}
}

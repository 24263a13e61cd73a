package argo

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		data     map[string]string
		problems []string // keys that fail
		check    func(t *testing.T, c *Config)
	}{
		{name: "catalog only", check: func(t *testing.T, c *Config) {
			for _, name := range []string{"on-created", "on-deleted", "on-deployed", "on-health-degraded", "on-sync-failed",
				"on-sync-running", "on-sync-status-unknown", "on-sync-succeeded"} {
				if len(c.Triggers[name]) != 1 {
					t.Errorf("catalog trigger %s missing", name)
				}
				if tmpl := c.Triggers[name][0].Send[0]; c.Templates[tmpl] == nil {
					t.Errorf("catalog template %s missing", tmpl)
				}
			}
		}},
		{name: "a trigger as a list, as one condition, and overriding the catalog", data: map[string]string{
			"trigger.on-a":              "- when: app.status.sync.status == 'OutOfSync'\n  send: [t]\n- when: 'false'\n  send: [u]",
			"trigger.on-b":              "when: app.status.health.status == 'Degraded'\noncePer: app.status.sync.revision\nsend: [t]",
			"trigger.on-sync-succeeded": "- when: 'true'\n  send: [mine]",
		}, check: func(t *testing.T, c *Config) {
			if len(c.Triggers["on-a"]) != 2 || c.Triggers["on-a"][1].key[:4] != "[1]." {
				t.Errorf("on-a %+v", c.Triggers["on-a"])
			}
			if b := c.Triggers["on-b"]; len(b) != 1 || b[0].OncePer != "app.status.sync.revision" {
				t.Errorf("on-b %+v", b)
			}
			if c.Triggers["on-sync-succeeded"][0].Send[0] != "mine" {
				t.Error("the ConfigMap does not override the catalog")
			}
		}},
		{name: "defaults, subscriptions and context", data: map[string]string{
			"defaultTriggers":       "[on-sync-failed, on-health-degraded]",
			"defaultTriggers.slack": "- on-sync-succeeded",
			"subscriptions":         "- recipients: [slack:ops, 'email:ops@example.com']\n  triggers: [on-sync-failed]\n  selector: team=ops",
			"context":               "argocdUrl: https://argocd.example.com\nenvironment: prod",
		}, check: func(t *testing.T, c *Config) {
			if !slices.Equal(c.DefaultTriggers, []string{"on-sync-failed", "on-health-degraded"}) ||
				!slices.Equal(c.ServiceDefaultTriggers["slack"], []string{"on-sync-succeeded"}) {
				t.Errorf("defaults %v %v", c.DefaultTriggers, c.ServiceDefaultTriggers)
			}
			if len(c.Subscriptions) != 1 || c.Context["argocdUrl"] != "https://argocd.example.com" {
				t.Errorf("subscriptions %+v, context %v", c.Subscriptions, c.Context)
			}
		}},
		{name: "services by type and name", data: map[string]string{
			"service.slack":             "token: x0x",
			"service.webhook.github-ci": "url: https://ci.example.com",
			"service.email.gmail":       "host: smtp.gmail.com\nport: 465\nfrom: a@example.com",
			"service.teams":             "recipientUrls: {ops: https://example.webhook.office.com/x}",
			"service.github":            "token: ghp",
		}, check: func(t *testing.T, c *Config) {
			for _, name := range []string{"slack", "github-ci", "gmail", "teams", "github"} {
				if c.Services[name] == nil {
					t.Errorf("service %s missing", name)
				}
			}
		}},
		{name: "bad keys are reported, the others work", data: map[string]string{
			"trigger.bad-yaml":      "when: [",
			"trigger.bad-expr":      "- when: app.status ==\n  send: [x]",
			"trigger.bad-once":      "- when: 'true'\n  oncePer: ')'\n  send: [x]",
			"template.bad":          "message: '{{.app.metadata.name'",
			"template.bad-slack":    "slack:\n  attachments: '{{range}}'",
			"service.opsgenie":      "apiUrl: x",
			"service.webhook.a.b":   "url: https://x",
			"service.webhook.nourl": "headers: []",
			"service.slack":         "token: [not, a, string]",
			"subscriptions":         "- selector: 'a in (b'",
			"context":               "[a, b]",
			"trigger.good":          "- when: 'true'\n  send: [app-created]",
		}, problems: []string{"context", "service.opsgenie", "service.slack", "service.webhook.a.b", "service.webhook.nourl", "subscriptions",
			"template.bad", "template.bad-slack", "trigger.bad-expr", "trigger.bad-once", "trigger.bad-yaml"},
			check: func(t *testing.T, c *Config) {
				if c.Triggers["good"] == nil {
					t.Error("a good trigger is lost with the bad ones")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Parse(tt.data, nil)
			var keys []string
			for k := range c.Problems {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.problems) {
				t.Errorf("problems %v, want %v", c.ProblemList(), tt.problems)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// TestSecretsAreResolvedAndMasked: $key references take the Secret's
// values, a missing key stays as written, and the values are masked in
// what Tether writes.
func TestSecretsAreResolvedAndMasked(t *testing.T) {
	opts, err := resolveSecrets("token: $slack-token\nnested: {list: [a-$slack-token-b, $missing]}\nport: 25",
		map[string][]byte{"slack-token": []byte("xoxb-1234")})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(opts, &got)
	want := `{"nested":{"list":["a-$slack-token-b","$missing"]},"port":25,"token":"xoxb-1234"}`
	if b, _ := json.Marshal(got); string(b) != want {
		// "$slack-token-b" is one reference (dashes belong to names), as upstream reads it.
		t.Errorf("resolved %s, want %s", b, want)
	}
	c := Parse(map[string]string{"service.slack": "token: literal-token-in-cm"}, map[string][]byte{"slack-token": []byte("xoxb-1234")})
	msg := c.Masks.String("failed with xoxb-1234 and literal-token-in-cm")
	if strings.Contains(msg, "xoxb-1234") || strings.Contains(msg, "literal-token-in-cm") {
		t.Errorf("masked: %s", msg)
	}
	if err := c.Masks.Error(errors.New("xoxb-1234")); strings.Contains(err.Error(), "xoxb") {
		t.Errorf("masked error %v", err)
	}
}

func TestTemplates(t *testing.T) {
	c := Parse(map[string]string{
		"context": "argocdUrl: https://argocd.example.com",
		"template.custom": `message: |
  {{.app.metadata.name}} is {{.app.status.sync.status}} for {{.recipient}} via {{.serviceType}} ({{.context.notificationType}}, {{.notificationType}})
  {{call .repo.RepoURLToHTTPS "git@github.com:org/repo.git"}} {{call .repo.FullNameByRepoURL .app.spec.source.repoURL}}
  {{(call .time.Parse "2026-03-01T10:00:00Z").Year}} {{call .strings.ReplaceAll "a-b" "-" "+"}} {{.secrets.token}} {{upper "sprig"}}
title: a title
email:
  subject: Subject {{.app.metadata.name}}
`,
		"template.second": "message: second\nwebhook:\n  hook:\n    method: POST\n    body: '{{.app.metadata.name}}'\n",
		"template.env":    "message: '{{env \"HOME\"}}'",
	}, map[string][]byte{"token": []byte("s3cret")})
	if len(c.Problems) != 1 || c.Problems["template.env"] == nil {
		t.Errorf("problems %v: env must not be a template function", c.ProblemList())
	}
	env := c.Env(craftApp(nil))
	m, err := c.Message(env, Send{Templates: []string{"custom"}, To: Destination{Service: "slack", Recipient: "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "guestbook is Synced for ops via slack (slack, slack)\nhttps://github.com/org/repo.git argoproj/argocd-example-apps\n2026 a+b s3cret SPRIG\n"
	if m.Text != want || m.Title != "a title" || m.Email.Subject != "Subject guestbook" {
		t.Errorf("message %q, title %q, email %+v", m.Text, m.Title, m.Email)
	}
	m, err = c.Message(env, Send{Templates: []string{"custom", "second"}, To: Destination{Service: "hook"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "second" || m.Email.Subject != "Subject guestbook" || m.Webhook["hook"] != (WebhookMessage{Method: "POST", Body: "guestbook"}) {
		t.Errorf("merged %+v", m)
	}
	if _, err := c.Message(env, Send{Templates: []string{"missing"}}); err == nil {
		t.Error("a missing template renders")
	}
}

// TestCatalogTemplatesMakeValidJSON renders every catalog template for
// apps with awkward values: Slack attachments and Teams facts and actions
// must stay valid JSON.
func TestCatalogTemplatesMakeValidJSON(t *testing.T) {
	c := Parse(map[string]string{"context": `argocdUrl: 'https://argo.example.com/"quoted"'`}, nil)
	apps := map[string]map[string]any{
		"one source":   craftApp(operation(argov1.OperationFailed, "abc")),
		"no operation": craftApp(nil),
		"several sources and conditions": craftApp(func(a *argov1.Application) {
			a.Spec.Source = nil
			a.Spec.Sources = []argov1.ApplicationSource{{RepoURL: "https://a.example.com/x.git"}, {RepoURL: "https://b.example.com/y.git"}}
			a.Status.Conditions = []argov1.ApplicationCondition{{Type: "ComparisonError", Message: "line 1\nline \"2\"\t\\"}}
			a.Status.Sync.Status = argov1.SyncStatusCodeUnknown
		}),
	}
	for appName, app := range apps {
		for name := range catalogEntries {
			for _, service := range []string{"slack", "teams", "email"} {
				m, err := c.Message(c.Env(app), Send{Templates: []string{name}, To: Destination{Service: service, Recipient: "r"}})
				if err != nil {
					t.Fatalf("%s for %s via %s: %v", name, appName, service, err)
				}
				if m.Text == "" || m.Email == nil || m.Email.Subject == "" || m.Teams == nil || m.Teams.Title == "" {
					t.Errorf("%s: empty parts %+v", name, m)
				}
				for part, text := range map[string]string{"slack.attachments": slackAttachments(m), "teams.facts": teamsPart(m, "facts"),
					"teams.potentialAction": teamsPart(m, "actions")} {
					if text != "" && !json.Valid([]byte(text)) {
						t.Errorf("%s for %s: %s is not JSON:\n%s", name, appName, part, text)
					}
				}
				if service == "slack" && strings.Contains(m.Text, "* ") {
					t.Errorf("%s: conditions listed in Slack's message", name)
				}
			}
		}
	}
	m, _ := c.Message(c.Env(apps["several sources and conditions"]), Send{Templates: []string{"app-sync-failed"}, To: Destination{Service: "slack"}})
	var att []struct {
		Fields []struct{ Title, Value string }
	}
	_ = json.Unmarshal([]byte(m.Slack.Attachments), &att)
	if len(att) != 1 || !slices.ContainsFunc(att[0].Fields, func(f struct{ Title, Value string }) bool {
		return f.Title == "Repository" && f.Value == "https://a.example.com/x.git\nhttps://b.example.com/y.git"
	}) {
		t.Errorf("attachments %s", m.Slack.Attachments)
	}
}

func slackAttachments(m *Message) string {
	if m.Slack == nil {
		return ""
	}
	return m.Slack.Attachments
}

func teamsPart(m *Message, which string) string {
	if which == "facts" {
		return m.Teams.Facts
	}
	return m.Teams.PotentialAction
}

func TestLoaderCachesByVersion(t *testing.T) {
	// Pure logic of the cache: the reader is a counter, not Kubernetes.
	r := &countingReader{data: map[string]string{"service.slack": "token: x"}}
	now := t0
	l := &Loader{Reader: r, Namespace: "argocd", Now: func() time.Time { return now }}
	first, err := l.Get(t.Context())
	if err != nil || first == nil || first.Services["slack"] == nil {
		t.Fatalf("%v %v", first, err)
	}
	now = now.Add(time.Second)
	if again, _ := l.Get(t.Context()); again != first || r.reads != 2 {
		t.Errorf("read again within MaxAge: %d reads", r.reads)
	}
	now = now.Add(DefaultMaxAge)
	if again, _ := l.Get(t.Context()); again != first || r.reads != 4 {
		t.Errorf("parsed again without a change (%d reads)", r.reads)
	}
	r.version = "2"
	now = now.Add(DefaultMaxAge)
	if changed, _ := l.Get(t.Context()); changed == first || l.Version() != "2/2" {
		t.Errorf("not parsed again after a change: version %s", l.Version())
	}
	r.missing = true
	now = now.Add(DefaultMaxAge)
	if gone, err := l.Get(t.Context()); gone != nil || err != nil {
		t.Errorf("without the ConfigMap: %v %v", gone, err)
	}
}

// countingReader serves a ConfigMap and a Secret of resourceVersion
// version (default "1") and counts the reads.
type countingReader struct {
	data    map[string]string
	version string
	missing bool
	reads   int
}

func (r *countingReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	r.reads++
	v := r.version
	if v == "" {
		v = "1"
	}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		if r.missing {
			return apierrors.NewNotFound(corev1.Resource("configmaps"), key.Name)
		}
		o.Data, o.ResourceVersion = r.data, v
	case *corev1.Secret:
		o.Data, o.ResourceVersion = map[string][]byte{}, v
	}
	return nil
}

func (r *countingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("not listed")
}

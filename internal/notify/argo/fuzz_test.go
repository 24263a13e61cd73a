package argo

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds the ConfigMap's keys (written by whoever may edit
// argocd-notifications-cm) to Parse, and evaluates and renders what
// parsed: nothing may panic or hang.
func FuzzParse(f *testing.F) {
	f.Add("trigger.on-x", "- when: app.status.sync.status == 'Unknown'\n  oncePer: app.metadata.name\n  send: [t]", "template.t", "message: '{{.app.metadata.name}}'")
	f.Add("trigger.on-x", "when: time.Now().Sub(time.Parse(app.metadata.creationTimestamp)).Hours() > 1\nsend: [app-created]", "service.slack", "token: $t\napiURL: http://127.0.0.1:1/")
	f.Add("subscriptions", "- recipients: [slack:x]\n  selector: a=b", "defaultTriggers", "[on-x]")
	f.Add("service.webhook.h", "url: https://x\nheaders: [{name: a, value: $b}]\nbasicAuth: {username: u, password: p}", "template.t",
		"webhook:\n  h:\n    method: POST\n    path: /{{.app.metadata.name}}\n    body: '{{toJson .app}}'")
	f.Add("service.email", "host: h\nport: 25\nfrom: a@b.c", "service.teams", "recipientUrls: {a: https://x}")
	f.Add("service.github", "appID: 1\ninstallationID: 2\nprivateKey: x", "context", "argocdUrl: https://x")
	f.Add("template.t", "slack:\n  attachments: '[{{range .app.status.conditions}}{}{{end}}]'\nteams:\n  facts: '[]'", "trigger.on-y", "- when: 'true'\n  send: [t]")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		c := Parse(map[string]string{k1: v1, k2: v2}, map[string][]byte{"t": []byte("token"), "b": []byte("bee")})
		app := craftApp(nil)
		env := c.Env(app)
		dests := Destinations{}
		for name := range c.Triggers {
			dests[name] = []Destination{{Service: "slack", Recipient: "x"}}
		}
		ev := c.Evaluate(env, dests, nil, time.Unix(0, 0))
		for _, s := range ev.Sends {
			_, _ = c.Message(env, s)
		}
		for name := range c.Templates {
			_, _ = c.Message(env, Send{Templates: []string{name}, To: Destination{Service: "slack"}})
		}
		_ = c.ProblemList()
	})
}

// FuzzAnnotationDestinations feeds subscription annotations (written by
// whoever may edit an Application or an AppProject).
func FuzzAnnotationDestinations(f *testing.F) {
	f.Add("notifications.argoproj.io/subscribe.on-sync-succeeded.slack", "a;b")
	f.Add("notifications.argoproj.io/subscribe.slack", "")
	f.Add("notifications.argoproj.io/subscriptions", "- trigger: [a]\n  destinations: [{service: s, recipients: [r]}]")
	f.Add("notified.notifications.argoproj.io", `{"a:b:c:d":1}`)
	f.Fuzz(func(t *testing.T, key, value string) {
		ds, _ := AnnotationDestinations(map[string]string{key: value}, []string{"on-x"}, nil)
		ds.finish()
		for trigger, list := range ds {
			if len(list) > MaxDestinations {
				t.Fatalf("%d destinations for %s", len(list), trigger)
			}
			for _, d := range list {
				if strings.ContainsRune(d.Service, '.') && strings.HasPrefix(key, SubscribePrefix) {
					t.Fatalf("service %q read with a dot from %q", d.Service, key)
				}
			}
		}
		s := ParseState(value)
		_ = s.Encode()
	})
}

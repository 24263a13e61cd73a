package argo

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestAnnotationDestinations(t *testing.T) {
	defaults := []string{"on-sync-failed", "on-health-degraded"}
	serviceDefaults := map[string][]string{"teams": {"on-deployed"}}
	tests := []struct {
		name        string
		annotations map[string]string
		want        map[string][]string // trigger -> "service:recipient"
		errs        int
	}{
		{name: "trigger, service and recipients",
			annotations: map[string]string{"notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "my-channel1; my-channel2;;"},
			want:        map[string][]string{"on-sync-succeeded": {"slack:my-channel1", "slack:my-channel2"}}},
		{name: "a webhook needs no recipient",
			annotations: map[string]string{"notifications.argoproj.io/subscribe.on-sync-failed.my-hook": ""},
			want:        map[string][]string{"on-sync-failed": {"my-hook"}}},
		{name: "no trigger: the default triggers",
			annotations: map[string]string{"notifications.argoproj.io/subscribe.slack": "ops"},
			want:        map[string][]string{"on-sync-failed": {"slack:ops"}, "on-health-degraded": {"slack:ops"}}},
		{name: "no trigger: the service's default triggers",
			annotations: map[string]string{"notifications.argoproj.io/subscribe.teams": "ops"},
			want:        map[string][]string{"on-deployed": {"teams:ops"}}},
		{name: "extra dots are ignored, as upstream",
			annotations: map[string]string{"notifications.argoproj.io/subscribe.on-sync-succeeded.slack.extra": "c"},
			want:        map[string][]string{"on-sync-succeeded": {"slack:c"}}},
		{name: "the YAML form",
			annotations: map[string]string{"notifications.argoproj.io/subscriptions": `
- trigger: [on-sync-succeeded, on-sync-failed]
  destinations:
  - service: slack
    recipients: [a, b]
  - service: email
    recipients: [ops@example.com]`},
			want: map[string][]string{
				"on-sync-succeeded": {"email:ops@example.com", "slack:a", "slack:b"},
				"on-sync-failed":    {"email:ops@example.com", "slack:a", "slack:b"}}},
		{name: "repeats count once",
			annotations: map[string]string{
				"notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "a;a",
				"notifications.argoproj.io/subscriptions":                     "- trigger: [on-sync-succeeded]\n  destinations: [{service: slack, recipients: [a]}]"},
			want: map[string][]string{"on-sync-succeeded": {"slack:a"}}},
		{name: "other annotations and bad ones",
			annotations: map[string]string{
				"notifications.argoproj.io/subscribe.":        "x",
				"notifications.argoproj.io/subscribe.on-x.":   "x",
				"notifications.argoproj.io/subscriptions":     "{not: a list}",
				"notified.notifications.argoproj.io":          "{}",
				"argocd.argoproj.io/refresh":                  "normal",
				"notifications.argoproj.io/subscribe-nothing": "x"},
			want: map[string][]string{}, errs: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, errs := AnnotationDestinations(tt.annotations, defaults, serviceDefaults)
			errs = append(errs, ds.finish()...)
			if len(errs) != tt.errs {
				t.Errorf("errors %v, want %d", errs, tt.errs)
			}
			got := map[string][]string{}
			for trigger, list := range ds {
				for _, d := range list {
					got[trigger] = append(got[trigger], d.String())
				}
			}
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("destinations %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigDestinations(t *testing.T) {
	c := Parse(map[string]string{
		"defaultTriggers": "[on-sync-status-unknown]",
		"subscriptions": `
- recipients: [slack:all]
- recipients: ['email:ops@example.com']
  triggers: [on-sync-failed]
  selector: team=ops
`,
	}, nil)
	ds, errs := c.Destinations(map[string]string{"team": "ops"},
		map[string]string{"notifications.argoproj.io/subscribe.on-sync-failed.slack": "app-channel"},
		map[string]string{"notifications.argoproj.io/subscribe.on-sync-failed.slack": "project-channel;app-channel"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := Destinations{
		"on-sync-status-unknown": {{Service: "slack", Recipient: "all"}},
		"on-sync-failed": {{Service: "email", Recipient: "ops@example.com"}, {Service: "slack", Recipient: "app-channel"},
			{Service: "slack", Recipient: "project-channel"}},
	}
	if !maps.EqualFunc(ds, want, slices.Equal) {
		t.Errorf("destinations %v, want %v", ds, want)
	}
	ds, _ = c.Destinations(map[string]string{"team": "dev"}, nil, nil)
	if len(ds) != 1 || len(ds["on-sync-status-unknown"]) != 1 {
		t.Errorf("the selector does not select: %v", ds)
	}
}

// TestDestinationsAreBounded: an annotation cannot make one change send
// thousands of messages.
func TestDestinationsAreBounded(t *testing.T) {
	var many []string
	for i := range 10000 {
		many = append(many, fmt.Sprintf("c%d", i))
	}
	ds, errs := (&Config{}).Destinations(nil, map[string]string{
		"notifications.argoproj.io/subscribe.on-sync-succeeded.slack": strings.Join(many, ";"),
	}, nil)
	if len(ds["on-sync-succeeded"]) != MaxDestinations || len(errs) != 1 {
		t.Errorf("%d destinations, errors %v", len(ds["on-sync-succeeded"]), errs)
	}
}

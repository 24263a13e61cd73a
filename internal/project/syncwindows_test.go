package project

import (
	"strings"
	"testing"
	"time"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestCanSync(t *testing.T) {
	// Monday 2 June 2025, 22:30 UTC.
	monday := time.Date(2025, 6, 2, 22, 30, 0, 0, time.UTC)
	dest := argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Name: "in-cluster", Namespace: "prod"}
	all := []string{"*"}
	deny := func(schedule, duration string) argov1.SyncWindow {
		return argov1.SyncWindow{Kind: "deny", Schedule: schedule, Duration: duration, Applications: all}
	}
	allow := func(schedule, duration string) argov1.SyncWindow {
		return argov1.SyncWindow{Kind: "allow", Schedule: schedule, Duration: duration, Applications: all}
	}
	withManual := func(w argov1.SyncWindow) argov1.SyncWindow { w.ManualSync = true; return w }
	selecting := func(w argov1.SyncWindow, apps, namespaces, clusters []string, and bool) argov1.SyncWindow {
		w.Applications, w.Namespaces, w.Clusters, w.UseAndOperator = apps, namespaces, clusters, and
		return w
	}
	inZone := func(w argov1.SyncWindow, zone string) argov1.SyncWindow { w.TimeZone = zone; return w }

	tests := []struct {
		name    string
		windows []argov1.SyncWindow
		app     string
		manual  bool
		now     time.Time
		ok      bool
		reason  string // a part of the reason; "" means it must be empty
	}{
		{"no windows", nil, "web", false, monday, true, ""},
		{"active deny blocks automated", []argov1.SyncWindow{deny("0 22 * * *", "1h")}, "web", false, monday, false,
			"sync blocked: active deny window spec.syncWindows[0] (deny:0 22 * * *:1h)"},
		{"active deny blocks manual", []argov1.SyncWindow{deny("0 22 * * *", "1h")}, "web", true, monday, false, "active deny window"},
		{"manualSync lets manual through", []argov1.SyncWindow{withManual(deny("0 22 * * *", "1h"))}, "web", true, monday, true,
			"manual sync allowed by manualSync (active deny window spec.syncWindows[0]"},
		{"manualSync still blocks automated", []argov1.SyncWindow{withManual(deny("0 22 * * *", "1h"))}, "web", false, monday, false,
			"; manual syncs are allowed"},
		{"every active deny must allow manual", []argov1.SyncWindow{withManual(deny("0 22 * * *", "1h")), deny("0 * * * *", "45m")}, "web", true, monday, false,
			"spec.syncWindows[0] (deny:0 22 * * *:1h), spec.syncWindows[1] (deny:0 * * * *:45m)"},
		{"deny over", []argov1.SyncWindow{deny("0 21 * * *", "1h")}, "web", false, monday, true, ""},
		{"deny end is exclusive", []argov1.SyncWindow{deny("0 22 * * *", "30m")}, "web", false, monday, true, ""},
		{"deny started a minute ago", []argov1.SyncWindow{deny("29 22 * * *", "5m")}, "web", false, monday, false, "active deny"},
		{"allow outside its time blocks", []argov1.SyncWindow{allow("0 9 * * *", "8h")}, "web", false, monday, false,
			"sync blocked: outside allow window spec.syncWindows[0] (allow:0 9 * * *:8h)"},
		{"allow outside its time blocks manual", []argov1.SyncWindow{allow("0 9 * * *", "8h")}, "web", true, monday, false, "outside allow window"},
		{"allow manualSync", []argov1.SyncWindow{withManual(allow("0 9 * * *", "8h"))}, "web", true, monday, true, "manual sync allowed by manualSync (outside allow window"},
		{"allow active", []argov1.SyncWindow{allow("0 22 * * *", "1h")}, "web", false, monday, true, ""},
		{"one active allow is enough", []argov1.SyncWindow{allow("0 9 * * *", "8h"), allow("0 22 * * 1", "2h")}, "web", false, monday, true, ""},
		{"deny overrides allow", []argov1.SyncWindow{allow("0 22 * * *", "1h"), deny("0 22 * * *", "1h")}, "web", false, monday, false, "active deny window spec.syncWindows[1]"},
		{"weekend window on monday", []argov1.SyncWindow{deny("0 0 * * 6", "48h")}, "web", false, monday, true, ""},
		{"weekend window on sunday", []argov1.SyncWindow{deny("0 0 * * 6", "48h")}, "web", false, time.Date(2025, 6, 8, 10, 0, 0, 0, time.UTC), false, "active deny"},
		{"never fires", []argov1.SyncWindow{deny("0 0 30 2 *", "24h")}, "web", false, monday, true, ""},
		{"time zone shifts the schedule", []argov1.SyncWindow{inZone(deny("0 22 * * *", "1h"), "Europe/Amsterdam")}, "web", false, monday, true, ""},
		{"time zone active", []argov1.SyncWindow{inZone(deny("0 22 * * *", "1h"), "Europe/Amsterdam")}, "web", false,
			time.Date(2025, 6, 2, 20, 30, 0, 0, time.UTC), false, "(deny:0 22 * * *:1h Europe/Amsterdam)"},
		{"time zone of now does not matter", []argov1.SyncWindow{deny("0 22 * * *", "1h")}, "web", false, monday.In(time.FixedZone("X", -5*3600)), false, "active deny"},
		{"unknown time zone is UTC", []argov1.SyncWindow{inZone(deny("0 22 * * *", "1h"), "Mars/Olympus")}, "web", false, monday, false, "active deny"},
		{"bad schedule", []argov1.SyncWindow{deny("0 22 * *", "1h")}, "web", false, monday, false, "invalid sync window spec.syncWindows[0] (deny:0 22 * *:1h): cannot parse schedule '0 22 * *'"},
		{"bad duration", []argov1.SyncWindow{deny("0 22 * * *", "1 hour")}, "web", false, monday, false, "cannot parse duration '1 hour'"},
		// Selection.
		{"other application", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), []string{"api-*"}, nil, nil, false)}, "web", false, monday, true, ""},
		{"application glob", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), []string{"api-*"}, nil, nil, false)}, "api-v2", false, monday, false, "active deny"},
		{"namespace", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), nil, []string{"pr*"}, nil, false)}, "web", false, monday, false, "active deny"},
		{"cluster by name", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), nil, nil, []string{"in-cluster"}, false)}, "web", false, monday, false, "active deny"},
		{"cluster by server", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), nil, nil, []string{"https://kubernetes.*"}, false)}, "web", false, monday, false, "active deny"},
		{"other cluster", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), nil, nil, []string{"edge-*"}, false)}, "web", false, monday, true, ""},
		{"selectors are or-ed", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), []string{"api"}, []string{"prod"}, nil, false)}, "web", false, monday, false, "active deny"},
		{"andOperator needs every selector", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), []string{"api"}, []string{"prod"}, nil, true)}, "web", false, monday, true, ""},
		{"andOperator all match", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), []string{"web"}, []string{"prod"}, []string{"in-cluster"}, true)}, "web", false, monday, false, "active deny"},
		{"andOperator ignores unset selectors", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), []string{"web"}, nil, nil, true)}, "web", false, monday, false, "active deny"},
		{"andOperator without selectors", []argov1.SyncWindow{selecting(deny("0 22 * * *", "1h"), nil, nil, nil, true)}, "web", false, monday, true, ""},
		{"allow for another app does not block", []argov1.SyncWindow{selecting(allow("0 9 * * *", "8h"), []string{"api"}, nil, nil, false)}, "web", false, monday, true, ""},
		{"bad window for another app is ignored", []argov1.SyncWindow{selecting(deny("bad", "1h"), []string{"api"}, nil, nil, false)}, "web", false, monday, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Project{Name: "p", Spec: argov1.AppProjectSpec{SyncWindows: tt.windows}}
			ok, reason := p.CanSync(tt.app, dest, tt.manual, tt.now)
			if ok != tt.ok {
				t.Errorf("CanSync = %v (%q), want %v", ok, reason, tt.ok)
			}
			if tt.reason == "" && reason != "" || !strings.Contains(reason, tt.reason) {
				t.Errorf("CanSync reason = %q, want it to contain %q", reason, tt.reason)
			}
		})
	}
}

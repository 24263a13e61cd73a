package argo

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(30 * time.Second)
)

// craftApp is an Application whose status edit sets.
func craftApp(edit func(*argov1.Application)) map[string]any {
	app := &argov1.Application{}
	app.Name, app.Namespace, app.UID = "guestbook", "argocd", "uid-1"
	app.Spec.Project = "default"
	app.Spec.Source = &argov1.ApplicationSource{RepoURL: "https://github.com/argoproj/argocd-example-apps.git", Path: "guestbook"}
	app.Status.Sync.Status = argov1.SyncStatusCodeSynced
	app.Status.Health.Status = argov1.HealthStatusHealthy
	if edit != nil {
		edit(app)
	}
	obj, err := appObject(app)
	if err != nil {
		panic(err)
	}
	return obj
}

// operation sets an operation state of phase at revision, finished at t1
// unless it runs.
func operation(phase argov1.OperationPhase, revision string) func(*argov1.Application) {
	return func(a *argov1.Application) {
		st := &argov1.OperationState{Phase: phase, StartedAt: metav1.NewTime(t0), Message: "sync " + string(phase)}
		if phase != argov1.OperationRunning {
			st.FinishedAt = &metav1.Time{Time: t1}
		}
		if revision != "" {
			st.SyncResult = &argov1.SyncOperationResult{Revision: revision}
		}
		a.Status.OperationState = st
	}
}

func both(edits ...func(*argov1.Application)) func(*argov1.Application) {
	return func(a *argov1.Application) {
		for _, e := range edits {
			e(a)
		}
	}
}

func health(code argov1.HealthStatusCode, at time.Time) func(*argov1.Application) {
	return func(a *argov1.Application) {
		a.Status.Health.Status = code
		a.Status.Health.LastTransitionTime = &metav1.Time{Time: at}
	}
}

// TestCatalogTriggers evaluates every catalog trigger on crafted apps.
func TestCatalogTriggers(t *testing.T) {
	cfg := Parse(nil, nil)
	deleting := func(a *argov1.Application) { a.DeletionTimestamp = &metav1.Time{Time: t1} }
	unknown := func(a *argov1.Application) { a.Status.Sync.Status = argov1.SyncStatusCodeUnknown }
	tests := []struct {
		name    string
		app     map[string]any
		fired   []string          // catalog triggers that fire
		oncePer map[string]string // trigger -> oncePer value
	}{
		{name: "new app, no operation", app: craftApp(nil), fired: []string{"on-created"},
			oncePer: map[string]string{"on-created": "guestbook"}},
		{name: "sync succeeded, healthy after it finished", app: craftApp(both(operation(argov1.OperationSucceeded, "abc123"), health(argov1.HealthStatusHealthy, t1.Add(time.Second)))),
			fired:   []string{"on-created", "on-deployed", "on-sync-succeeded"},
			oncePer: map[string]string{"on-deployed": "abc123", "on-sync-succeeded": "abc123"}},
		{name: "sync succeeded, healthy before it finished: not deployed yet", app: craftApp(both(operation(argov1.OperationSucceeded, "abc123"), health(argov1.HealthStatusHealthy, t0))),
			fired: []string{"on-created", "on-sync-succeeded"}},
		{name: "sync succeeded, progressing", app: craftApp(both(operation(argov1.OperationSucceeded, "abc123"), health(argov1.HealthStatusProgressing, t1))),
			fired: []string{"on-created", "on-sync-succeeded"}},
		{name: "sync running", app: craftApp(operation(argov1.OperationRunning, "")),
			fired: []string{"on-created", "on-sync-running"}, oncePer: map[string]string{"on-sync-running": "<nil>"}},
		{name: "sync failed", app: craftApp(operation(argov1.OperationFailed, "def456")),
			fired: []string{"on-created", "on-sync-failed"}, oncePer: map[string]string{"on-sync-failed": "def456"}},
		{name: "sync error", app: craftApp(operation(argov1.OperationError, "")),
			fired: []string{"on-created", "on-sync-failed"}},
		{name: "degraded", app: craftApp(health(argov1.HealthStatusDegraded, t1)),
			fired: []string{"on-created", "on-health-degraded"}},
		{name: "sync status unknown", app: craftApp(unknown), fired: []string{"on-created", "on-sync-status-unknown"}},
		{name: "being deleted", app: craftApp(deleting), fired: []string{"on-created", "on-deleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := cfg.Env(tt.app)
			var fired []string
			for name := range catalogTriggers {
				for _, r := range evaluate(cfg.Triggers[name], env) {
					if r.Triggered {
						fired = append(fired, name)
					}
					if want, ok := tt.oncePer[name]; ok && r.OncePer != want {
						t.Errorf("%s: oncePer %q, want %q", name, r.OncePer, want)
					}
					if r.Err != nil && r.Triggered {
						t.Errorf("%s: triggered with error %v", name, r.Err)
					}
				}
			}
			slices.Sort(fired)
			if got, want := strings.Join(fired, ","), strings.Join(tt.fired, ","); got != want {
				t.Errorf("fired %s, want %s", got, want)
			}
		})
	}
}

// TestConditionFunctions covers the helpers conditions may call.
func TestConditionFunctions(t *testing.T) {
	cfg := Parse(map[string]string{"context": "env: prod"}, map[string][]byte{"flag": []byte("on")})
	cfg.Now = func() time.Time { return t1.Add(10 * time.Minute) }
	app := craftApp(operation(argov1.OperationSucceeded, "abc"))
	tests := []struct {
		when string
		want bool
		err  string
	}{
		{when: `time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5`, want: true},
		{when: `time.Now().Sub(time.Parse(app.status.operationState.finishedAt)) < time.Minute`, want: false},
		{when: `strings.ReplaceAll(app.metadata.name, "book", "") == "guest"`, want: true},
		{when: `repo.RepoURLToHTTPS("git@github.com:argoproj/argocd-example-apps.git") == "https://github.com/argoproj/argocd-example-apps.git"`, want: true},
		{when: `repo.FullNameByRepoURL(app.spec.source.repoURL) == "argoproj/argocd-example-apps"`, want: true},
		{when: `context.env == "prod" and secrets.flag == "on"`, want: true},
		{when: `time.Parse("yesterday").Before(time.Now())`, err: "parsing time"},
		{when: `app.status.operationState.nothing.deeper == 1`, err: "nil"},
		{when: `repo.GetCommitMetadata("abc").Message != ""`, err: "repo-server"},
		{when: `"not a bool"`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			conds, err := parseTrigger("- when: '" + strings.ReplaceAll(tt.when, "'", "''") + "'\n  send: [x]")
			if err != nil {
				t.Fatal(err)
			}
			r := evaluate(conds, cfg.Env(app))[0]
			if r.Triggered != tt.want {
				t.Errorf("triggered %v, want %v (err %v)", r.Triggered, tt.want, r.Err)
			}
			if tt.err == "" && r.Err != nil {
				t.Errorf("error %v", r.Err)
			}
			if tt.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.err)) {
				t.Errorf("error %v, want one with %q", r.Err, tt.err)
			}
		})
	}
}

// TestNotifiedOnce walks an app through syncs: each notification is sent
// once per change of its condition (oncePer: once per revision), and the
// state keys are upstream's.
func TestNotifiedOnce(t *testing.T) {
	cfg := Parse(map[string]string{
		"service.webhook.hook":   "url: http://127.0.0.1:1/",
		"trigger.on-out-of-sync": "- when: app.status.sync.status == 'OutOfSync'\n  send: [app-sync-status-unknown]",
	}, nil)
	dests := Destinations{
		"on-sync-succeeded": {{Service: "hook"}},
		"on-out-of-sync":    {{Service: "hook"}},
	}
	outOfSync := func(a *argov1.Application) { a.Status.Sync.Status = argov1.SyncStatusCodeOutOfSync }
	steps := []struct {
		name string
		app  map[string]any
		sent []string // triggers sent at this step
	}{
		{"out of sync", craftApp(outOfSync), []string{"on-out-of-sync"}},
		{"still out of sync", craftApp(outOfSync), nil},
		{"synced at abc", craftApp(operation(argov1.OperationSucceeded, "abc")), []string{"on-sync-succeeded"}},
		{"again at abc", craftApp(operation(argov1.OperationSucceeded, "abc")), nil},
		{"out of sync again", craftApp(both(outOfSync, operation(argov1.OperationSucceeded, "abc"))), []string{"on-out-of-sync"}},
		{"synced at def", craftApp(operation(argov1.OperationSucceeded, "def")), []string{"on-sync-succeeded"}},
		{"back at abc: already sent for abc", craftApp(operation(argov1.OperationSucceeded, "abc")), nil},
	}
	state := State{}
	for i, step := range steps {
		ev := cfg.Evaluate(cfg.Env(step.app), dests, state, t0.Add(time.Duration(i)*time.Second))
		if len(ev.Problems) > 0 {
			t.Fatalf("%s: problems %v", step.name, ev.Problems)
		}
		var sent []string
		for _, s := range ev.Sends {
			sent = append(sent, s.Trigger)
		}
		if !slices.Equal(sent, step.sent) {
			t.Errorf("%s: sent %v, want %v", step.name, sent, step.sent)
		}
		state = ParseState(ev.State.Encode())
	}
	key := "abc:on-sync-succeeded:[0]." + hashWhen(cfg.Triggers["on-sync-succeeded"][0].When) + ":hook:"
	if _, ok := state[key]; !ok {
		t.Errorf("state %v lacks upstream's key %s", state, key)
	}
}

// TestEvaluateReportsMissingSettings: a subscription to a trigger,
// service or template that is not configured is reported and not marked
// as sent, so it is sent once the settings are fixed.
func TestEvaluateReportsMissingSettings(t *testing.T) {
	cfg := Parse(map[string]string{
		"service.slack":     "token: xoxb-1",
		"trigger.on-custom": "- when: 'true'\n  send: [no-such-template]",
	}, nil)
	dests := Destinations{
		"on-nothing":        {{Service: "slack", Recipient: "a"}},
		"on-created":        {{Service: "opsgenie", Recipient: "b"}, {Service: "slack", Recipient: "c"}},
		"on-custom":         {{Service: "slack", Recipient: "d"}},
		"on-sync-succeeded": {{Service: "slack", Recipient: "e"}},
	}
	ev := cfg.Evaluate(cfg.Env(craftApp(nil)), dests, nil, t0)
	want := []string{
		`trigger "on-nothing" is not configured`,
		`service "opsgenie" (trigger on-created) is not configured`,
		`template "no-such-template" (trigger on-custom) is not configured`,
	}
	for _, w := range want {
		if !slices.Contains(ev.Problems, w) {
			t.Errorf("problems %q lack %q", ev.Problems, w)
		}
	}
	if len(ev.Sends) != 1 || ev.Sends[0].To.Recipient != "c" {
		t.Errorf("sends %+v, want on-created to slack:c only", ev.Sends)
	}
	if len(ev.State) != 1 {
		t.Errorf("state %v, want only the sent notification", ev.State)
	}
}

func TestStateEncodeKeepsTheNewest(t *testing.T) {
	s := State{}
	for i := range 150 {
		s[strings.Repeat("k", 1+i%7)+string(rune('a'+i%26))+strings.Repeat("x", i)] = int64(i)
	}
	back := ParseState(s.Encode())
	if len(back) != maxStateEntries {
		t.Fatalf("%d entries, want %d", len(back), maxStateEntries)
	}
	for _, v := range back {
		if v < 50 {
			t.Fatalf("entry of time %d kept, older than the 100 newest", v)
		}
	}
	if got := ParseState("not json"); len(got) != 0 {
		t.Errorf("unreadable state parsed as %v", got)
	}
	if (State{}).Encode() != "" {
		t.Error("an empty state encodes as something")
	}
}

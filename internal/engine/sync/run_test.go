package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/tether-gitops/tether/internal/health"
)

// script is an Executor of pure logic: it records calls and answers
// health from a table the test changes.
type script struct {
	mu       gosync.Mutex
	calls    []string
	health   map[string]*health.Result // by object name; absent = no health
	applyErr error
	cleaned  map[string]bool
}

func (s *script) log(f string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf(f, a...))
}

func (s *script) Apply(_ context.Context, st *Step, tasks []*Task, report Report) error {
	for _, t := range tasks {
		s.log("apply %s", t.Object.Name)
		if s.applyErr != nil {
			report(t, ActionApply, ResultFailed, s.applyErr.Error())
			continue
		}
		report(t, ActionApply, ResultSucceeded, "configured")
	}
	return s.applyErr
}

func (s *script) Hook(_ context.Context, st *Step, t *Task, report Report) error {
	if t.Object.Name == "" {
		t.Object.Name = "gen-1"
	}
	s.log("hook %s", t.Object.Name)
	report(t, ActionHook, ResultRunning, "created")
	return nil
}

func (s *script) Prune(_ context.Context, st *Step, tasks []*Task, report Report) error {
	for _, t := range tasks {
		s.log("prune %s", t.Object.Name)
		report(t, ActionPrune, ResultSucceeded, "pruned")
	}
	return nil
}

func (s *script) Health(_ context.Context, t *Task) (*health.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health[t.Object.Name], nil
}

func (s *script) set(name string, st health.Status, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health[name] = &health.Result{Status: st, Message: msg}
}

func (s *script) Cleanup(_ context.Context, t *Task, succeeded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleaned[t.Object.Name] = succeeded
}

// called reports whether call was made, safely while a run goes on.
func (s *script) called(call string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return contains(s.calls, call)
}

func (s *script) Adopt(_ context.Context, t *Task) error {
	s.log("adopt %s", t.Object.Name)
	return nil
}

func newScript() *script {
	return &script{health: map[string]*health.Result{}, cleaned: map[string]bool{}}
}

// collect is a Sink that keeps events as "action result object message".
type collect struct {
	mu     gosync.Mutex
	events []Event
}

func (c *collect) sink(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *collect) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		obj := "-"
		if e.Object != nil {
			obj = e.Object.Name
		}
		out = append(out, fmt.Sprintf("%s/%d %s %s %s", e.Phase, e.Wave, e.Action, e.Result, obj))
	}
	return out
}

func TestRunOrdersStepsAndWaitsOnNotices(t *testing.T) {
	s := newScript()
	s.set("db", health.Progressing, "")
	s.set("migrate", health.Progressing, "")
	steps, onFail := Plan([]*Task{
		task(TaskHook, PhasePreSync, 0, "migrate"),
		task(TaskApply, PhaseSync, 0, "db"),
		task(TaskApply, PhaseSync, 1, "web"),
		task(TaskPrune, PhaseSync, 0, "old"),
	}, PlanOptions{})
	notices := make(chan struct{}, 1)
	var c collect
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), steps, onFail, s, RunOptions{App: "Application/argocd/a", Sink: c.sink,
			Changes: func() (<-chan struct{}, func()) { return notices, func() {} }, Poll: time.Hour})
	}()
	// The wait re-checks only on a notice (Poll is an hour).
	waitFor(t, func() bool { return contains(c.lines(), "PreSync/0 hook Running migrate") })
	s.set("migrate", health.Healthy, "job done")
	notices <- struct{}{}
	waitFor(t, func() bool { return contains(c.lines(), "Sync/0 wait Running db") })
	s.set("db", health.Healthy, "")
	notices <- struct{}{}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not finish after the notices")
	}
	want := []string{"hook migrate", "apply db", "prune old", "apply web"}
	if strings.Join(s.calls, "; ") != strings.Join(want, "; ") {
		t.Errorf("calls = %v, want %v", s.calls, want)
	}
	lines := c.lines()
	for _, w := range []string{
		"/0 sync Running -",
		"PreSync/0 hook Running migrate",
		"PreSync/0 hook Succeeded migrate",
		"Sync/0 apply Succeeded db",
		"Sync/0 prune Succeeded old",
		"Sync/0 wait Running db",
		"Sync/0 wait Succeeded db",
		"Sync/1 apply Succeeded web",
		"sync Succeeded -",
	} {
		if !contains(lines, w) {
			t.Errorf("no event %q in:\n%s", w, strings.Join(lines, "\n"))
		}
	}
	// The last step does not wait for health: web has none recorded and
	// no wait event.
	if contains(lines, "wait Running web") {
		t.Errorf("the last step waited:\n%s", strings.Join(lines, "\n"))
	}
	if ok, cleaned := s.cleaned["migrate"]; !cleaned || !ok {
		t.Errorf("cleanup of migrate = %v (called %v), want succeeded", ok, cleaned)
	}
	for _, e := range c.events {
		if e.App != "Application/argocd/a" || e.Time.IsZero() {
			t.Fatalf("event without app or time: %+v", e)
		}
	}
}

// TestRunResumesAnInterruptedRun: what the interrupted run finished is
// not done again, its running hook is adopted and waited for, not
// created twice, and every hook is still cleaned up.
func TestRunResumesAnInterruptedRun(t *testing.T) {
	s := newScript()
	s.set("migrate", health.Progressing, "")
	steps, onFail := Plan([]*Task{
		task(TaskHook, PhasePreSync, 0, "schema"),  // completed before
		task(TaskHook, PhasePreSync, 0, "migrate"), // created, still running
		task(TaskApply, PhaseSync, 0, "db"),        // not reached
		task(TaskPrune, PhaseSync, 0, "old"),       // not reached
		task(TaskHook, PhasePostSync, 0, "smoke"),  // not reached
	}, PlanOptions{})
	before := map[string]Result{"schema": ResultSucceeded, "migrate": ResultRunning}
	var c collect
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), steps, onFail, s, RunOptions{Sink: c.sink, Poll: time.Millisecond,
			Resume: func(t *Task) Result { return before[t.Object.Name] }})
	}()
	waitFor(t, func() bool { return s.called("adopt migrate") })
	time.Sleep(20 * time.Millisecond)
	if s.called("apply db") {
		t.Fatal("the next phase started while the adopted hook was running")
	}
	s.set("migrate", health.Healthy, "job done")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "adopt schema; adopt migrate; apply db; prune old; hook smoke"
	if got := strings.Join(s.calls, "; "); got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
	for _, h := range []string{"schema", "migrate", "smoke"} {
		if ok, cleaned := s.cleaned[h]; !cleaned || !ok {
			t.Errorf("cleanup of %s = %v (called %v), want succeeded", h, ok, cleaned)
		}
	}
	lines := c.lines()
	if !contains(lines, "PreSync/0 hook Succeeded migrate") || contains(lines, "PreSync/0 hook Succeeded schema") {
		t.Errorf("want the adopted hook's end reported, and nothing again for the completed one:\n%s", strings.Join(lines, "\n"))
	}

	// A resumed run whose earlier one had applied a wave applies it no more.
	s = newScript()
	steps, onFail = Plan([]*Task{task(TaskApply, PhaseSync, 0, "db"), task(TaskApply, PhaseSync, 1, "web")}, PlanOptions{})
	if err := Run(context.Background(), steps, onFail, s, RunOptions{Poll: time.Millisecond,
		Resume: func(t *Task) Result { return map[string]Result{"db": ResultSucceeded}[t.Object.Name] }}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.calls, "; "); got != "apply web" {
		t.Errorf("calls = %s, want only the wave not applied before", got)
	}
}

func TestRunFailureRunsSyncFailHooks(t *testing.T) {
	s := newScript()
	s.set("web", health.Degraded, "CrashLoopBackOff")
	steps, onFail := Plan([]*Task{
		task(TaskApply, PhaseSync, 0, "web"),
		task(TaskApply, PhaseSync, 1, "never"),
		{Kind: TaskHook, Phase: PhaseSyncFail, Object: Ref{Kind: "Job", Namespace: "ns"}},
	}, PlanOptions{})
	var c collect
	err := Run(context.Background(), steps, onFail, s, RunOptions{Sink: c.sink, Poll: time.Millisecond})
	if err == nil || err.Error() != "ConfigMap/ns/web is Degraded: CrashLoopBackOff" {
		t.Fatalf("err = %v", err)
	}
	if want := "apply web; hook gen-1"; strings.Join(s.calls, "; ") != want {
		t.Errorf("calls = %v, want %s (no later wave, then the SyncFail hook with its generated name)", s.calls, want)
	}
	lines := c.lines()
	for _, w := range []string{"Sync/0 wait Failed web", "SyncFail/0 hook Running gen-1", "SyncFail/0 hook Succeeded gen-1", "sync Failed -"} {
		if !contains(lines, w) {
			t.Errorf("no event %q in:\n%s", w, strings.Join(lines, "\n"))
		}
	}
}

func TestRunHookFailures(t *testing.T) {
	tests := []struct {
		name    string
		health  *health.Result
		wantErr string
	}{
		{"degraded", &health.Result{Status: health.Degraded, Message: "BackoffLimitExceeded"}, "hook Job/ns/h failed: BackoffLimitExceeded"},
		{"deleted", &health.Result{Status: health.Missing}, "hook Job/ns/h was deleted before it completed"},
		{"unknown", &health.Result{Status: health.Unknown, Message: "bad status"}, "hook Job/ns/h failed: bad status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript()
			s.health["h"] = tt.health
			steps, _ := Plan([]*Task{{Kind: TaskHook, Phase: PhasePreSync, Object: Ref{Kind: "Job", Namespace: "ns", Name: "h"}}, task(TaskApply, PhaseSync, 0, "a")}, PlanOptions{})
			err := Run(context.Background(), steps, nil, s, RunOptions{Poll: time.Millisecond})
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v, want %s", err, tt.wantErr)
			}
			if ok, called := s.cleaned["h"]; !called || ok {
				t.Errorf("cleanup(h) = %v (called %v), want failed", ok, called)
			}
			if len(s.calls) != 1 {
				t.Errorf("calls = %v: the Sync step ran after a failed hook", s.calls)
			}
		})
	}
}

func TestRunTimesOutNamingWhatItWaitedFor(t *testing.T) {
	s := newScript()
	s.set("h", health.Progressing, "")
	steps, _ := Plan([]*Task{{Kind: TaskHook, Phase: PhasePreSync, Object: Ref{Kind: "Job", Namespace: "ns", Name: "h"}}}, PlanOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := Run(ctx, steps, nil, s, RunOptions{Poll: 5 * time.Millisecond})
	if err == nil || err.Error() != "waiting for completion of hook Job/ns/h: timed out" {
		t.Fatalf("err = %v", err)
	}
}

func TestRunApplyFailureStops(t *testing.T) {
	s := newScript()
	s.applyErr = errors.New("refused")
	steps, _ := Plan([]*Task{task(TaskApply, PhaseSync, 0, "a"), task(TaskHook, PhasePostSync, 0, "after")}, PlanOptions{})
	if err := Run(context.Background(), steps, nil, s, RunOptions{}); err == nil || err.Error() != "refused" {
		t.Fatalf("err = %v", err)
	}
	if len(s.calls) != 1 {
		t.Errorf("calls = %v, want the apply only", s.calls)
	}
}

func TestHub(t *testing.T) {
	h := NewHub()
	all, stopAll := h.Subscribe("", 10)
	one, stopOne := h.Subscribe("Application/argocd/a", 1)
	h.Publish(Event{App: "Application/argocd/a", Message: "1"})
	h.Publish(Event{App: "Kustomization/flux-system/b", Message: "2"})
	h.Publish(Event{App: "Application/argocd/a", Message: "3"}) // one's buffer is full
	if got := (<-one).Message; got != "1" {
		t.Errorf("one got %q", got)
	}
	var msgs []string
	for range 3 {
		msgs = append(msgs, (<-all).Message)
	}
	if strings.Join(msgs, ",") != "1,2,3" {
		t.Errorf("all got %v", msgs)
	}
	if h.Dropped() != 1 {
		t.Errorf("Dropped = %d, want 1", h.Dropped())
	}
	stopOne()
	stopOne() // twice is harmless
	if _, open := <-one; open {
		t.Error("channel open after cancel")
	}
	h.Publish(Event{App: "Application/argocd/a"})
	stopAll()
	var nilHub *Hub
	nilHub.Publish(Event{}) // a controller without a hub
}

func contains(lines []string, part string) bool {
	for _, l := range lines {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

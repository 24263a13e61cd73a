package sync

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/internal/engine"
)

func task(kind TaskKind, phase Phase, wave int, name string) *Task {
	return &Task{Kind: kind, Phase: phase, Wave: wave, Object: Ref{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: name}}
}

// layout prints steps as "Phase/wave:kind name,..." lines.
func layout(steps []*Step) string {
	var lines []string
	for _, st := range steps {
		var names []string
		for _, t := range st.Tasks {
			names = append(names, string(t.Kind)+" "+t.Object.Name)
		}
		w := fmt.Sprint(st.Wave)
		if st.Wave == math.MaxInt {
			w = "last"
		}
		lines = append(lines, string(st.Phase)+"/"+w+": "+strings.Join(names, ", "))
	}
	return strings.Join(lines, "\n")
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		tasks  []*Task
		opts   PlanOptions
		want   string
		onFail []string
	}{
		{
			name:  "one wave, as a Kustomization",
			tasks: []*Task{task(TaskApply, PhaseSync, 0, "a"), task(TaskApply, PhaseSync, 0, "b"), task(TaskPrune, PhaseSync, 0, "old")},
			want:  "Sync/0: apply a, apply b, prune old",
		},
		{
			name: "phases then waves, negative waves first",
			tasks: []*Task{
				task(TaskHook, PhasePostSync, 0, "notify"),
				task(TaskApply, PhaseSync, 2, "late"),
				task(TaskApply, PhaseSync, -1, "early"),
				task(TaskHook, PhasePreSync, 0, "migrate"),
				task(TaskHook, PhaseSync, 2, "during"),
			},
			want: "PreSync/0: hook migrate\nSync/-1: apply early\nSync/2: apply late, hook during\nPostSync/0: hook notify",
		},
		{
			name: "prune waves run in reverse: lowest and highest swap",
			tasks: []*Task{
				task(TaskPrune, PhaseSync, 1, "w1"),
				task(TaskPrune, PhaseSync, 3, "w3"),
				task(TaskPrune, PhaseSync, 5, "w5"),
				task(TaskApply, PhaseSync, 3, "keep"),
			},
			want: "Sync/1: prune w5\nSync/3: prune w3, apply keep\nSync/5: prune w1",
		},
		{
			name:  "PruneLast on one object",
			tasks: []*Task{{Kind: TaskPrune, Phase: PhaseSync, PruneLast: true, Object: Ref{Name: "last"}}, task(TaskApply, PhaseSync, 9, "a"), task(TaskPrune, PhaseSync, 0, "now")},
			want:  "Sync/0: prune now\nSync/9: apply a\nSync/last: prune last",
		},
		{
			name:  "PruneLast for the app",
			tasks: []*Task{task(TaskPrune, PhaseSync, 0, "p"), task(TaskApply, PhaseSync, 0, "a"), task(TaskHook, PhasePostSync, 0, "h")},
			opts:  PlanOptions{PruneLast: true},
			want:  "Sync/0: apply a\nSync/last: prune p\nPostSync/0: hook h",
		},
		{
			name:   "SyncFail hooks apart, in wave order",
			tasks:  []*Task{task(TaskHook, PhaseSyncFail, 2, "f2"), task(TaskApply, PhaseSync, 0, "a"), task(TaskHook, PhaseSyncFail, -1, "f1")},
			want:   "Sync/0: apply a",
			onFail: []string{"f1", "f2"},
		},
		{name: "nothing", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, onFail := Plan(tt.tasks, tt.opts)
			if got := layout(steps); got != tt.want {
				t.Errorf("steps:\n%s\nwant:\n%s", got, tt.want)
			}
			var names []string
			for _, f := range onFail {
				names = append(names, f.Object.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.onFail, ",") {
				t.Errorf("onFail = %v, want %v", names, tt.onFail)
			}
		})
	}
}

func TestRefID(t *testing.T) {
	r := Ref{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "system:tether"}
	if got, want := r.ID(), "_system__tether_rbac.authorization.k8s.io_ClusterRole"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
	if got, want := r.String(), "ClusterRole/system:tether"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestRecorder(t *testing.T) {
	var got []Event
	now := func() time.Time { return time.Unix(1, 0) }
	rec := Recorder{App: "Kustomization/flux-system/apps", Sink: func(e Event) { got = append(got, e) }, Now: now}
	rec.Sync(ResultRunning, "applying")
	rec.Changes([]engine.Change{
		{ID: "_system__tether_rbac.authorization.k8s.io_ClusterRole", Version: "v1", Subject: "ClusterRole/system:tether", Action: engine.ActionCreated},
		{ID: "apps_old_apps_Deployment", Version: "v1", Subject: "Deployment/apps/old", Action: engine.ActionDeleted},
		{ID: "apps_kept__ConfigMap", Version: "v1", Subject: "ConfigMap/apps/kept", Action: engine.ActionSkipped},
		{ID: "not an id", Action: engine.ActionCreated},
	})
	rec.Sync(ResultSucceeded, "done")
	var lines []string
	for _, e := range got {
		if e.App != rec.App || !e.Time.Equal(now()) || e.Phase != PhaseSync {
			t.Fatalf("event %+v lacks app, time or phase", e)
		}
		obj := "-"
		if e.Object != nil {
			obj = e.Object.String() + "@" + e.Object.Group + "/" + e.Object.Version
		}
		lines = append(lines, fmt.Sprintf("%s %s %s", e.Action, e.Result, obj))
	}
	want := []string{
		"sync Running -",
		"apply Succeeded ClusterRole/system:tether@rbac.authorization.k8s.io/v1",
		"prune Succeeded Deployment/apps/old@apps/v1",
		"prune Skipped ConfigMap/apps/kept@/v1",
		"sync Succeeded -",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

package sync

import (
	"math"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-gitops/tether/internal/engine"
)

// Phase is a part of a sync, spelled as Argo CD spells its sync phases.
type Phase string

// The phases, in the order they run; SyncFail runs only after a failure.
const (
	PhasePreSync  Phase = "PreSync"
	PhaseSync     Phase = "Sync"
	PhasePostSync Phase = "PostSync"
	PhaseSyncFail Phase = "SyncFail"
)

var phaseOrder = map[Phase]int{PhasePreSync: 0, PhaseSync: 1, PhasePostSync: 2, PhaseSyncFail: 3}

// TaskKind is what a task does to its object.
type TaskKind string

// The task kinds.
const (
	// TaskApply applies an object of the desired state.
	TaskApply TaskKind = "apply"
	// TaskHook creates a hook and waits for it to complete.
	TaskHook TaskKind = "hook"
	// TaskPrune deletes a live object the desired state no longer has.
	TaskPrune TaskKind = "prune"
)

// Ref names one object. Name is empty for a hook with only a generateName
// until the hook is created (the Executor then sets it).
type Ref struct {
	Group, Version, Kind, Namespace, Name string
}

// ID is the object's engine identity (see engine.ID).
func (r Ref) ID() string {
	return engine.ID(schema.GroupKind{Group: r.Group, Kind: r.Kind}, r.Namespace, r.Name)
}

// String is "<Kind>/<namespace>/<name>", or "<Kind>/<name>".
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Task is one object's part in a sync.
type Task struct {
	// Kind is what the task does.
	Kind TaskKind
	// Phase is the phase the task runs in: PhaseSync for applies and
	// prunes, the hook's type for hooks.
	Phase Phase
	// Wave orders tasks within a phase, lowest first. For prunes it is the
	// live object's wave; Plan reverses prune waves.
	Wave int
	// PruneLast puts a prune into a step of its own after every other
	// step of its phase.
	PruneLast bool
	// Object is the object the task concerns.
	Object Ref
	// Payload is the dialect's own data for the Executor.
	Payload any
}

// Step is the tasks of one phase and wave.
type Step struct {
	Phase Phase
	Wave  int
	Tasks []*Task
}

// Of returns the step's tasks of kind k, in plan order.
func (s *Step) Of(k TaskKind) []*Task {
	var out []*Task
	for _, t := range s.Tasks {
		if t.Kind == k {
			out = append(out, t)
		}
	}
	return out
}

// PlanOptions configure Plan.
type PlanOptions struct {
	// PruneLast runs every prune after every other step of the Sync phase
	// (Argo CD's PruneLast=true sync option for the whole app).
	PruneLast bool
}

// Plan orders tasks into steps by phase (PreSync, Sync, PostSync) and
// wave. Prunes run in the reverse order of creation: the lowest and
// highest prune waves swap, and so on inwards (gitops-engine's symmetric
// swap), so what was created last is deleted first; PruneLast prunes come
// after every other step. SyncFail hooks are returned apart, in wave
// order: Run creates them only after a failed step.
func Plan(tasks []*Task, opts PlanOptions) (steps []*Step, onFail []*Task) {
	swap := pruneWaves(tasks)
	byKey := map[[2]int]*Step{}
	for _, t := range tasks {
		if t.Phase == PhaseSyncFail {
			onFail = append(onFail, t)
			continue
		}
		wave := t.Wave
		if t.Kind == TaskPrune {
			wave = swap[t.Wave]
			if opts.PruneLast || t.PruneLast {
				wave = math.MaxInt
			}
		}
		k := [2]int{phaseOrder[t.Phase], wave}
		st := byKey[k]
		if st == nil {
			st = &Step{Phase: t.Phase, Wave: wave}
			byKey[k] = st
			steps = append(steps, st)
		}
		st.Tasks = append(st.Tasks, t)
	}
	sort.SliceStable(steps, func(i, j int) bool {
		if a, b := phaseOrder[steps[i].Phase], phaseOrder[steps[j].Phase]; a != b {
			return a < b
		}
		return steps[i].Wave < steps[j].Wave
	})
	sort.SliceStable(onFail, func(i, j int) bool { return onFail[i].Wave < onFail[j].Wave })
	return steps, onFail
}

// pruneWaves maps each prune wave to the one it runs in.
func pruneWaves(tasks []*Task) map[int]int {
	seen := map[int]bool{}
	var waves []int
	for _, t := range tasks {
		if t.Kind == TaskPrune && !seen[t.Wave] {
			seen[t.Wave] = true
			waves = append(waves, t.Wave)
		}
	}
	sort.Ints(waves)
	out := make(map[int]int, len(waves))
	for i, w := range waves {
		out[w] = waves[len(waves)-1-i]
	}
	return out
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tether-gitops/tether/internal/health"
)

// Report records the outcome of one task's action as an Event.
type Report func(t *Task, a Action, r Result, message string)

// Executor does a sync's writes and reads for one dialect, through the
// engine. Each method reports every task it touched.
type Executor interface {
	// Apply applies tasks, the step's TaskApply tasks, as one set.
	Apply(ctx context.Context, st *Step, tasks []*Task, report Report) error
	// Hook creates the hook of t, reporting ActionHook ResultRunning once
	// it exists; it sets t.Object.Name when the API server chose it.
	Hook(ctx context.Context, st *Step, t *Task, report Report) error
	// Prune deletes the objects of tasks, the step's TaskPrune tasks, or
	// reports them skipped.
	Prune(ctx context.Context, st *Step, tasks []*Task, report Report) error
	// Health is the live health of t's object: Missing when it does not
	// exist, nil when its kind has no health (it counts as healthy).
	Health(ctx context.Context, t *Task) (*health.Result, error)
	// Cleanup deletes a hook after the run by its delete policies;
	// succeeded says how the hook ended.
	Cleanup(ctx context.Context, t *Task, succeeded bool)
	// Adopt takes over the hook of t that an earlier, interrupted run
	// of the same operation created (RunOptions.Resume), without creating
	// it again: the run then waits for it and cleans it up as its own.
	Adopt(ctx context.Context, t *Task) error
}

// Resume says what an earlier, interrupted run of the same operation did
// with a task, as that run recorded it: ResultSucceeded when its object
// was applied or pruned, or its hook completed; ResultRunning when its
// hook was created and had not completed; "" when it was not reached.
type Resume func(t *Task) Result

// RunOptions configure Run.
type RunOptions struct {
	// App names the app in events.
	App string
	// Sink receives every event; nil drops them.
	Sink Sink
	// Changes, when set, subscribes to notices that a live object may have
	// changed (the live cache's); waits re-check on each notice and on
	// Poll. The returned func ends the subscription.
	Changes func() (<-chan struct{}, func())
	// Poll is how often a wait re-checks without a notice:
	// DefaultPoll, or DefaultPollWithChanges when Changes is set.
	Poll time.Duration
	// SyncFailTimeout bounds the SyncFail hooks when the run's own
	// deadline has passed; DefaultSyncFailTimeout when zero.
	SyncFailTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Resume, when set, continues an interrupted run (a restart, or
	// another replica taking over): what it reports done is neither
	// applied, pruned nor created again, and a hook it reports running
	// is adopted and waited for. Health is still waited for.
	Resume Resume
}

const (
	// DefaultPoll is how often a wait re-checks when nothing notifies it.
	DefaultPoll = 500 * time.Millisecond
	// DefaultPollWithChanges is the safety-net re-check when change
	// notices drive a wait.
	DefaultPollWithChanges = 5 * time.Second
	// DefaultSyncFailTimeout is RunOptions.SyncFailTimeout's default.
	DefaultSyncFailTimeout = 2 * time.Minute
)

// run is one Run in progress.
type run struct {
	exec  Executor
	opts  RunOptions
	step  *Step
	hooks []*hookState
}

// hookState is a hook the run created.
type hookState struct {
	task         *Task
	done, failed bool
}

// Run walks steps in order. Each step applies its objects, creates its
// hooks, prunes, then waits for its hooks to complete and, unless it is
// the last step, for its objects to be healthy. After a failed step Run
// creates the onFail hooks and waits for them. Hooks are cleaned up by
// their delete policies at the end. The error is the failed step's.
func Run(ctx context.Context, steps []*Step, onFail []*Task, exec Executor, opts RunOptions) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
		if opts.Changes != nil {
			opts.Poll = DefaultPollWithChanges
		}
	}
	if opts.SyncFailTimeout <= 0 {
		opts.SyncFailTimeout = DefaultSyncFailTimeout
	}
	r := &run{exec: exec, opts: opts}
	r.emit(Event{Action: ActionSync, Result: ResultRunning, Message: fmt.Sprintf("%d steps", len(steps))})
	var err error
	for i, st := range steps {
		if err = r.runStep(ctx, st, i == len(steps)-1); err != nil {
			break
		}
	}
	if err != nil && len(onFail) > 0 {
		r.runSyncFail(ctx, onFail)
	}
	r.cleanup(ctx)
	if err != nil {
		r.emit(Event{Action: ActionSync, Result: ResultFailed, Message: err.Error()})
		return err
	}
	r.emit(Event{Action: ActionSync, Result: ResultSucceeded, Message: "successfully synced"})
	return nil
}

func (r *run) emit(e Event) {
	if r.opts.Sink == nil {
		return
	}
	e.Time, e.App = r.opts.Now(), r.opts.App
	if r.step != nil && e.Phase == "" {
		e.Phase, e.Wave = r.step.Phase, r.step.Wave
	}
	r.opts.Sink(e)
}

// report is the Report handed to the Executor.
func (r *run) report(t *Task, a Action, res Result, msg string) {
	ref := t.Object
	r.emit(Event{Object: &ref, Phase: t.Phase, Wave: r.step.Wave, Action: a, Result: res, Message: msg})
}

func (r *run) runStep(ctx context.Context, st *Step, last bool) error {
	r.step = st
	msg := fmt.Sprintf("%d tasks", len(st.Tasks))
	if n := r.doneBefore(st.Tasks); n > 0 {
		msg += fmt.Sprintf(", %d done by the interrupted run this one resumes", n)
	}
	r.emit(Event{Action: ActionStep, Result: ResultRunning, Message: msg})
	if apply := r.notDone(st.Of(TaskApply)); len(apply) > 0 {
		if err := r.exec.Apply(ctx, st, apply, r.report); err != nil {
			return err
		}
	}
	hooks, err := r.createHooks(ctx, st, st.Of(TaskHook))
	if err != nil {
		return err
	}
	if prune := r.notDone(st.Of(TaskPrune)); len(prune) > 0 {
		if err := r.exec.Prune(ctx, st, prune, r.report); err != nil {
			return err
		}
	}
	var wait []*Task
	if !last {
		wait = st.Of(TaskApply)
	}
	return r.wait(ctx, wait, hooks)
}

// resumed is what the interrupted run this one resumes did with t.
func (r *run) resumed(t *Task) Result {
	if r.opts.Resume == nil {
		return ""
	}
	return r.opts.Resume(t)
}

// doneBefore counts the tasks the interrupted run had finished.
func (r *run) doneBefore(tasks []*Task) int {
	n := 0
	for _, t := range tasks {
		if r.resumed(t) == ResultSucceeded {
			n++
		}
	}
	return n
}

// notDone are the tasks the interrupted run had not finished.
func (r *run) notDone(tasks []*Task) []*Task {
	if r.opts.Resume == nil {
		return tasks
	}
	var out []*Task
	for _, t := range tasks {
		if r.resumed(t) != ResultSucceeded {
			out = append(out, t)
		}
	}
	return out
}

func (r *run) createHooks(ctx context.Context, st *Step, tasks []*Task) ([]*hookState, error) {
	var out []*hookState
	for _, t := range tasks {
		h := &hookState{task: t}
		switch before := r.resumed(t); before {
		case ResultSucceeded, ResultRunning:
			// Created by the interrupted run: never created twice.
			if err := r.exec.Adopt(ctx, t); err != nil {
				return out, err
			}
			h.done = before == ResultSucceeded
			out = append(out, h)
			r.hooks = append(r.hooks, h)
			continue
		}
		if err := r.exec.Hook(ctx, st, t, r.report); err != nil {
			return out, err
		}
		out = append(out, h)
		r.hooks = append(r.hooks, h)
	}
	return out, nil
}

// wait returns once every hook has completed and every object of tasks is
// healthy; a failed hook or a Degraded object fails it.
func (r *run) wait(ctx context.Context, tasks []*Task, hooks []*hookState) error {
	if len(tasks) == 0 && len(hooks) == 0 {
		return nil
	}
	var notices <-chan struct{}
	if r.opts.Changes != nil {
		ch, stop := r.opts.Changes()
		defer stop()
		notices = ch
	}
	ticker := time.NewTicker(r.opts.Poll)
	defer ticker.Stop()
	seen := map[*Task]waitState{}
	for {
		waiting, err := r.check(ctx, tasks, hooks, seen)
		if err != nil || waiting == "" {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: timed out", waiting)
		case <-notices:
		case <-ticker.C:
		}
	}
}

// check reads every hook and object once; waiting says what is not done.
func (r *run) check(ctx context.Context, tasks []*Task, hooks []*hookState, seen map[*Task]waitState) (waiting string, err error) {
	for _, h := range hooks {
		if err := r.checkHook(ctx, h); err != nil {
			return "", err
		}
		if !h.done && waiting == "" {
			waiting = "waiting for completion of hook " + h.task.Object.String()
		}
	}
	for _, t := range tasks {
		if seen[t] == healthy {
			continue
		}
		hs, err := r.exec.Health(ctx, t)
		if err != nil {
			return "", err
		}
		switch {
		case hs == nil || hs.Status == health.Healthy || hs.Status == health.Suspended:
			if seen[t] == waitedFor {
				r.report(t, ActionWait, ResultSucceeded, "healthy")
			}
			seen[t] = healthy
		case hs.Status == health.Degraded:
			msg := fmt.Sprintf("%s is Degraded: %s", t.Object, hs.Message)
			r.report(t, ActionWait, ResultFailed, msg)
			return "", errors.New(msg)
		default:
			if seen[t] != waitedFor {
				seen[t] = waitedFor
				r.report(t, ActionWait, ResultRunning, "waiting for healthy state")
			}
			if waiting == "" {
				waiting = "waiting for healthy state of " + t.Object.String()
			}
		}
	}
	return waiting, nil
}

// waitState is what a wait knows of one object.
type waitState int

const (
	unchecked waitState = iota
	waitedFor           // found not yet healthy, and reported so
	healthy             // found healthy: not read again
)

// checkHook reads a hook's state: complete when healthy (a Job that
// succeeded, a Pod that exited 0) or when its kind has no health.
func (r *run) checkHook(ctx context.Context, h *hookState) error {
	if h.done {
		return nil
	}
	hs, err := r.exec.Health(ctx, h.task)
	if err != nil {
		return err
	}
	t := h.task
	switch {
	case hs != nil && hs.Status == health.Missing:
		h.done, h.failed = true, true
		r.report(t, ActionHook, ResultFailed, "hook deleted before it completed")
		return fmt.Errorf("hook %s was deleted before it completed", t.Object)
	case hs == nil || hs.Status == health.Healthy:
		h.done = true
		msg := ""
		if hs != nil {
			msg = hs.Message
		}
		r.report(t, ActionHook, ResultSucceeded, msg)
	case hs.Status == health.Degraded || hs.Status == health.Unknown:
		h.done, h.failed = true, true
		r.report(t, ActionHook, ResultFailed, hs.Message)
		return fmt.Errorf("hook %s failed: %s", t.Object, hs.Message)
	}
	return nil
}

// runSyncFail creates the SyncFail hooks after a failed step and waits
// for them, on a fresh deadline when the run's own has passed.
func (r *run) runSyncFail(ctx context.Context, tasks []*Task) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), r.opts.SyncFailTimeout)
		defer cancel()
	}
	r.step = &Step{Phase: PhaseSyncFail, Tasks: tasks}
	if len(tasks) > 0 {
		r.step.Wave = tasks[0].Wave
	}
	r.emit(Event{Action: ActionStep, Result: ResultRunning, Message: fmt.Sprintf("%d tasks", len(tasks))})
	hooks, err := r.createHooks(ctx, r.step, tasks)
	if err == nil {
		_ = r.wait(ctx, nil, hooks)
	}
}

// cleanup hands every hook the run created to the Executor's Cleanup.
func (r *run) cleanup(ctx context.Context) {
	for _, h := range r.hooks {
		r.exec.Cleanup(ctx, h.task, h.done && !h.failed)
	}
}

package application

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Self-heal throttling: the first self-heal of an app runs at once, each
// further one in a row waits twice as long as the one before (from
// selfHealPause up to maxSelfHealPause), so that Tether and another writer
// of the same field do not spin. A refresh that finds the app Synced
// starts the count again.
const (
	selfHealPause    = time.Second
	maxSelfHealPause = 3 * time.Minute
)

// progressingRecheck is how soon an app that is not healthy yet is looked
// at again.
const progressingRecheck = 3 * time.Second

// healRecord is an app's run of self-heals.
type healRecord struct {
	count int       // self-heals in a row
	last  time.Time // the latest one
}

// decision is what nextOperation found.
type decision struct {
	op     *argov1.Operation
	resume bool          // op continues the current operationState (a retry)
	why    string        // an automated sync was held back (a SyncError)
	wait   time.Duration // a self-heal is due after this pause
}

// nextOperation decides what to sync now: the operation a user set, a
// failed one whose retry is due, or an automated sync of an OutOfSync app.
func (r *Reconciler) nextOperation(app *argov1.Application, cmp *comparison, t *target) decision {
	if app.Operation != nil {
		return decision{op: app.Operation.DeepCopy()}
	}
	if st := app.Status.OperationState; st != nil && st.Phase == argov1.OperationRunning {
		if r.retryDue(st) {
			return decision{op: st.Operation.DeepCopy(), resume: true}
		}
		return decision{}
	}
	return r.autoSync(app, cmp, t)
}

// autoSync is Argo CD's automated sync policy: sync an OutOfSync app to
// the compared revisions, unless the same revisions and sources were
// already synced (then only selfHeal syncs again) or tried and failed, or
// the sync would delete everything.
func (r *Reconciler) autoSync(app *argov1.Application, cmp *comparison, t *target) decision {
	pol := app.Spec.SyncPolicy
	if pol == nil || pol.Automated == nil || (pol.Automated.Enabled != nil && !*pol.Automated.Enabled) {
		return decision{}
	}
	if cmp.syncStatus() != argov1.SyncStatusCodeOutOfSync {
		r.healed(keyOf(app))
		return decision{}
	}
	rev := cmp.m.revision()
	if pol.Automated.Prune && !pol.Automated.AllowEmpty && len(cmp.resources) == 0 && len(cmp.extraneous) > 0 {
		return decision{why: fmt.Sprintf("Skipping sync attempt to %s: auto-sync will wipe out all resources", rev)}
	}
	if st := app.Status.OperationState; alreadyAttempted(app, cmp.m) {
		switch {
		case st.Phase == argov1.OperationFailed || st.Phase == argov1.OperationError:
			return decision{why: fmt.Sprintf("Failed sync attempt to %s: %s", rev, st.Message)}
		case !pol.Automated.SelfHeal:
			return decision{}
		}
		if wait := r.healWait(keyOf(app)); wait > 0 {
			return decision{wait: wait}
		}
	}
	if why := r.windowBlocks(t, app, false); why != "" {
		return decision{why: fmt.Sprintf("Skipping auto-sync to %s: %s", rev, why)}
	}
	op := &argov1.Operation{
		Sync:        &argov1.SyncOperation{Revision: rev, Prune: pol.Automated.Prune, SyncOptions: pol.SyncOptions},
		InitiatedBy: argov1.OperationInitiator{Automated: true},
	}
	if len(app.Spec.Sources) > 0 {
		op.Sync.Revisions = cmp.m.revisions
	}
	if pol.Retry != nil {
		op.Retry = *pol.Retry
	}
	return decision{op: op}
}

// alreadyAttempted is Argo CD's test: the last operation synced these
// revisions of these sources.
func alreadyAttempted(app *argov1.Application, m *manifests) bool {
	st := app.Status.OperationState
	if st == nil || st.Operation.Sync == nil || st.SyncResult == nil {
		return false
	}
	if len(app.Spec.Sources) > 0 {
		return equality.Semantic.DeepEqual(st.SyncResult.Revisions, m.revisions) &&
			equality.Semantic.DeepEqual(st.SyncResult.Sources, app.Spec.Sources)
	}
	return st.SyncResult.Revision == m.revision() && app.Spec.Source != nil &&
		equality.Semantic.DeepEqual(st.SyncResult.Source, *app.Spec.Source)
}

// healWait is how long app's next self-heal must wait; 0 records one now.
func (r *Reconciler) healWait(key types.NamespacedName) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	h := r.heals[key]
	if h.count > 0 {
		pause := min(selfHealPause<<min(h.count-1, 20), maxSelfHealPause)
		if wait := h.last.Add(pause).Sub(now); wait > 0 {
			return wait
		}
	}
	r.heals[key] = healRecord{count: h.count + 1, last: now}
	return 0
}

// healed starts app's self-heal count again.
func (r *Reconciler) healed(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.heals, key)
}

// retryDue reports whether a failed attempt's backoff has passed.
func (r *Reconciler) retryDue(st *argov1.OperationState) bool {
	return st.FinishedAt == nil || st.RetryCount == 0 || !r.now().Before(nextRetry(st))
}

func nextRetry(st *argov1.OperationState) time.Time {
	return st.FinishedAt.Add(retryDelay(&st.Operation.Retry, st.RetryCount-1))
}

// requeueAfter is when to look at app again: when its retry is due, while
// an operation runs, while it is Progressing, or at the resync period.
func (r *Reconciler) requeueAfter(app *argov1.Application) time.Duration {
	st := app.Status.OperationState
	if st != nil && st.Phase == argov1.OperationRunning && st.RetryCount > 0 && st.FinishedAt != nil {
		return max(nextRetry(st).Sub(r.now()), 50*time.Millisecond)
	}
	if st != nil && st.Phase == argov1.OperationRunning {
		return time.Second
	}
	if app.Status.Health.Status == argov1.HealthStatusProgressing {
		// Watches start after the first apply and may miss the moment an
		// object becomes ready: look again soon while the app settles.
		return min(r.ResyncPeriod, progressingRecheck)
	}
	return r.ResyncPeriod
}

// startOperation records a new operation in status.operationState.
func (r *Reconciler) startOperation(app *argov1.Application, op *argov1.Operation) *argov1.OperationState {
	st := &argov1.OperationState{Operation: *op, Phase: argov1.OperationRunning, StartedAt: metav1.NewTime(r.now())}
	app.Status.OperationState = st
	who := "automated"
	if !op.InitiatedBy.Automated {
		who = "manual"
		if op.InitiatedBy.Username != "" {
			who = op.InitiatedBy.Username
		}
	}
	rev := ""
	if op.Sync != nil {
		rev = op.Sync.Revision
	}
	r.event(app, corev1.EventTypeNormal, "OperationStarted", fmt.Sprintf("Initiated %s sync to %s", who, orHEAD(rev)))
	return st
}

// failAttempt ends one attempt with msg: Failed (or Error), or Running
// again with a retry scheduled when the retry strategy allows one more.
func (r *Reconciler) failAttempt(app *argov1.Application, st *argov1.OperationState, phase argov1.OperationPhase, msg string) {
	now := metav1.NewTime(r.now())
	st.FinishedAt, st.Phase, st.Message = &now, phase, msg
	if st.RetryCount < retryLimit(&st.Operation.Retry) {
		next := now.Add(retryDelay(&st.Operation.Retry, st.RetryCount))
		st.Phase = argov1.OperationRunning
		st.RetryCount++
		st.Message = fmt.Sprintf("%s. Retrying attempt #%d at %s.", msg, st.RetryCount, next.Format(time.Kitchen))
		r.event(app, corev1.EventTypeWarning, "OperationRetrying", st.Message)
		return
	}
	r.event(app, corev1.EventTypeWarning, "OperationCompleted", "Sync operation failed: "+msg)
	r.Metrics.AppSynced(app, phase)
}

// operationTerminated is the message of a terminated operation, Argo CD's.
const operationTerminated = "Operation terminated"

// terminating reports whether a user asked for app's operation to stop.
func terminating(app *argov1.Application) bool {
	st := app.Status.OperationState
	return st != nil && st.Phase == argov1.OperationTerminating
}

// terminated ends st as Argo CD ends a terminated operation: Failed,
// "Operation terminated", never retried nor resumed. The results of what
// already ran stay. An operation that had not run yet gets the revision it
// was for as its result, so that an automated sync does not start the same
// sync again at once.
func (r *Reconciler) terminated(app *argov1.Application, st *argov1.OperationState) {
	now := metav1.NewTime(r.now())
	st.Phase, st.Message, st.FinishedAt = argov1.OperationFailed, operationTerminated, &now
	if st.SyncResult == nil && st.Operation.Sync != nil {
		st.SyncResult = syncResultOf(app, st.Operation.Sync, st.Operation.Sync.Revision, st.Operation.Sync.Revisions)
	}
	r.event(app, corev1.EventTypeWarning, "OperationCompleted", "Sync operation failed: "+operationTerminated)
	r.Metrics.AppSynced(app, argov1.OperationFailed)
}

// failOperation ends a pending or running operation that cannot start
// because the app is invalid or its sources do not render.
func (r *Reconciler) failOperation(app *argov1.Application, err error) {
	switch st := app.Status.OperationState; {
	case app.Operation != nil:
		st = r.startOperation(app, app.Operation)
		app.Operation = nil
		r.failAttempt(app, st, argov1.OperationError, err.Error())
	case st != nil && st.Phase == argov1.OperationRunning && r.retryDue(st):
		r.failAttempt(app, st, argov1.OperationError, err.Error())
	}
}

// succeed ends the operation and records the sync in status.history,
// unless it was a dry run or a selective sync (noHistory), as in Argo CD.
func (r *Reconciler) succeed(app *argov1.Application, st *argov1.OperationState, noHistory bool) {
	now := metav1.NewTime(r.now())
	st.Phase, st.FinishedAt, st.Message = argov1.OperationSucceeded, &now, "successfully synced (all tasks run)"
	r.event(app, corev1.EventTypeNormal, "OperationCompleted", fmt.Sprintf("Sync operation to %s succeeded", st.SyncResult.Revision))
	r.Metrics.AppSynced(app, argov1.OperationSucceeded)
	if noHistory {
		return
	}
	var id int64
	if n := len(app.Status.History); n > 0 {
		id = app.Status.History[n-1].ID + 1
	}
	started := st.StartedAt
	h := argov1.RevisionHistory{ID: id, Revision: st.SyncResult.Revision, Revisions: st.SyncResult.Revisions,
		DeployedAt: now, DeployStartedAt: &started, Source: st.SyncResult.Source, Sources: st.SyncResult.Sources,
		InitiatedBy: st.Operation.InitiatedBy}
	app.Status.History = append(app.Status.History, h)
	limit := int64(argov1.DefaultRevisionHistoryLimit)
	if app.Spec.RevisionHistoryLimit != nil {
		limit = max(*app.Spec.RevisionHistoryLimit, 0)
	}
	if n := int64(len(app.Status.History)); n > limit {
		app.Status.History = app.Status.History[n-limit:]
	}
	if len(app.Status.History) == 0 {
		app.Status.History = nil
	}
}

func orHEAD(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}

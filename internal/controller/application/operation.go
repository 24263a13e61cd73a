package application

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// selfHealPause is the least time between two self-heal syncs of one app,
// so that Tether and another writer of the same field do not spin.
const selfHealPause = time.Second

// progressingRecheck is how soon an app that is not healthy yet is looked
// at again.
const progressingRecheck = 3 * time.Second

// nextOperation decides what to sync now: the operation a user set, a
// failed one whose retry is due, or an automated sync of an OutOfSync app.
// resume is true when the operation continues the current operationState.
// why explains an automated sync that was held back (a SyncError).
func (r *Reconciler) nextOperation(app *argov1.Application, cmp *comparison) (op *argov1.Operation, resume bool, why string) {
	if app.Operation != nil {
		return app.Operation.DeepCopy(), false, ""
	}
	if st := app.Status.OperationState; st != nil && st.Phase == argov1.OperationRunning {
		if r.retryDue(st) {
			return st.Operation.DeepCopy(), true, ""
		}
		return nil, false, ""
	}
	op, why = r.autoSync(app, cmp)
	return op, false, why
}

// autoSync is Argo CD's automated sync policy: sync an OutOfSync app to
// the compared revision, unless that revision was already tried and failed,
// was already synced and selfHeal is off, or would delete everything.
func (r *Reconciler) autoSync(app *argov1.Application, cmp *comparison) (*argov1.Operation, string) {
	pol := app.Spec.SyncPolicy
	if pol == nil || pol.Automated == nil || (pol.Automated.Enabled != nil && !*pol.Automated.Enabled) {
		return nil, ""
	}
	if cmp.syncStatus() != argov1.SyncStatusCodeOutOfSync {
		return nil, ""
	}
	rev := cmp.m.revision()
	if pol.Automated.Prune && !pol.Automated.AllowEmpty && len(cmp.resources) == 0 && len(cmp.extraneous) > 0 {
		return nil, fmt.Sprintf("Skipping sync attempt to %s: auto-sync will wipe out all resources", rev)
	}
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil && st.SyncResult.Revision == rev &&
		st.Operation.InitiatedBy.Automated {
		switch {
		case st.Phase == argov1.OperationFailed || st.Phase == argov1.OperationError:
			return nil, fmt.Sprintf("Failed sync attempt to %s: %s", rev, st.Message)
		case !pol.Automated.SelfHeal:
			return nil, ""
		case !r.mayHeal(keyOf(app)):
			return nil, ""
		}
	}
	op := &argov1.Operation{
		Sync:        &argov1.SyncOperation{Revision: rev, Prune: pol.Automated.Prune, SyncOptions: pol.SyncOptions},
		InitiatedBy: argov1.OperationInitiator{Automated: true},
	}
	if len(cmp.m.revisions) > 1 {
		op.Sync.Revisions = cmp.m.revisions
	}
	if pol.Retry != nil {
		op.Retry = *pol.Retry
	}
	return op, ""
}

// mayHeal records a self-heal of app unless the last one was too recent.
func (r *Reconciler) mayHeal(key types.NamespacedName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if last, ok := r.heals[key]; ok && now.Sub(last) < selfHealPause {
		return false
	}
	r.heals[key] = now
	return true
}

// retryDue reports whether a failed attempt's backoff has passed.
func (r *Reconciler) retryDue(st *argov1.OperationState) bool {
	return st.FinishedAt == nil || st.RetryCount == 0 || !r.now().Before(nextRetry(st))
}

func nextRetry(st *argov1.OperationState) time.Time {
	return st.FinishedAt.Add(retryDelay(&st.Operation.Retry, st.RetryCount-1))
}

// requeueAfter is when to look at app again: when its retry is due, soon
// after a self-heal pause, or at the resync period.
func (r *Reconciler) requeueAfter(app *argov1.Application) time.Duration {
	st := app.Status.OperationState
	if st != nil && st.Phase == argov1.OperationRunning && st.RetryCount > 0 && st.FinishedAt != nil {
		return max(time.Until(nextRetry(st)), 50*time.Millisecond)
	}
	if st != nil && st.Phase == argov1.OperationRunning {
		return time.Second
	}
	if app.Status.Sync.Status == argov1.SyncStatusCodeOutOfSync && selfHeals(app) {
		return selfHealPause
	}
	switch app.Status.Health.Status {
	case argov1.HealthStatusProgressing:
		// Watches start after the first apply and may miss the moment an
		// object becomes ready: look again soon while the app settles.
		return min(r.ResyncPeriod, progressingRecheck)
	}
	return r.ResyncPeriod
}

func selfHeals(app *argov1.Application) bool {
	p := app.Spec.SyncPolicy
	return p != nil && p.Automated != nil && p.Automated.SelfHeal
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

// succeed ends the operation and records the sync in status.history.
func (r *Reconciler) succeed(app *argov1.Application, st *argov1.OperationState, dryRun bool) {
	now := metav1.NewTime(r.now())
	st.Phase, st.FinishedAt, st.Message = argov1.OperationSucceeded, &now, "successfully synced (all tasks run)"
	r.event(app, corev1.EventTypeNormal, "OperationCompleted", fmt.Sprintf("Sync operation to %s succeeded", st.SyncResult.Revision))
	if dryRun {
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
		limit = max(*app.Spec.RevisionHistoryLimit, 1)
	}
	if n := int64(len(app.Status.History)); n > limit {
		app.Status.History = app.Status.History[n-limit:]
	}
}

func orHEAD(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}

package application

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// A terminated operation ends Failed with Argo CD's message, keeps what it
// recorded, and is neither resumed nor retried, even with retries left.
func TestTerminatedOperationEndsForGood(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	r := &Reconciler{Now: func() time.Time { return now }}
	src := argov1.ApplicationSource{RepoURL: "https://git.example.com/app.git", Path: "app", TargetRevision: "HEAD"}
	earlier := metav1.NewTime(now.Add(-time.Minute))
	kept := []argov1.ResourceResult{{Kind: "Job", Name: "migrate", HookType: argov1.HookTypePreSync, HookPhase: argov1.OperationRunning}}
	for _, tc := range []struct {
		name      string
		state     argov1.OperationState
		automated bool
		wantRev   string
	}{
		{"while its hook runs", argov1.OperationState{Phase: argov1.OperationTerminating,
			Operation:  argov1.Operation{Sync: &argov1.SyncOperation{}, Retry: argov1.RetryStrategy{Limit: 5}},
			SyncResult: &argov1.SyncOperationResult{Revision: "abc", Source: src, Resources: kept}}, false, "abc"},
		{"a retry waiting for its backoff", argov1.OperationState{Phase: argov1.OperationTerminating, RetryCount: 1, FinishedAt: &earlier,
			Operation:  argov1.Operation{Sync: &argov1.SyncOperation{}, Retry: argov1.RetryStrategy{Limit: 5}},
			SyncResult: &argov1.SyncOperationResult{Revision: "abc", Source: src, Resources: kept}}, false, "abc"},
		{"an automated sync that never ran", argov1.OperationState{Phase: argov1.OperationTerminating,
			Operation: argov1.Operation{Sync: &argov1.SyncOperation{Revision: "abc"}, InitiatedBy: argov1.OperationInitiator{Automated: true}}},
			true, "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := &argov1.Application{Spec: argov1.ApplicationSpec{Source: src.DeepCopy()}}
			if tc.automated {
				app.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{}}
			}
			app.Status.OperationState = tc.state.DeepCopy()
			if !terminating(app) {
				t.Fatal("a Terminating operation is not seen as terminating")
			}
			retries := tc.state.RetryCount
			r.terminated(app, app.Status.OperationState)
			st := app.Status.OperationState
			if st.Phase != argov1.OperationFailed || st.Message != "Operation terminated" || st.FinishedAt == nil || !st.FinishedAt.Time.Equal(now) {
				t.Errorf("ended %s %q at %v, want Failed %q now", st.Phase, st.Message, st.FinishedAt, "Operation terminated")
			}
			if st.RetryCount != retries {
				t.Errorf("retry count %d, want %d: a termination is no attempt", st.RetryCount, retries)
			}
			if st.SyncResult == nil || st.SyncResult.Revision != tc.wantRev {
				t.Fatalf("sync result %+v, want revision %s", st.SyncResult, tc.wantRev)
			}
			if tc.state.SyncResult != nil && len(st.SyncResult.Resources) != len(kept) {
				t.Errorf("results %+v, want the ones recorded before", st.SyncResult.Resources)
			}
			if terminating(app) {
				t.Error("still terminating")
			}
			if tc.automated {
				// The automated policy's own test: the same revision was
				// attempted and failed, so it is not synced again.
				if !alreadyAttempted(app, &manifests{revisions: []string{"abc"}}) {
					t.Error("the terminated revision does not count as attempted: automated sync would start it again")
				}
				return
			}
			if d := r.nextOperation(app, nil, nil); d.op != nil {
				t.Errorf("next operation %+v (resume %v), want none", d.op, d.resume)
			}
		})
	}
}

// Only the update that asks for a termination wakes the controller; the
// controller's own status writes do not.
func TestTerminationRequestedPredicate(t *testing.T) {
	app := func(phase argov1.OperationPhase) *argov1.Application {
		a := &argov1.Application{}
		if phase != "" {
			a.Status.OperationState = &argov1.OperationState{Phase: phase}
		}
		return a
	}
	for _, tc := range []struct {
		old, new argov1.OperationPhase
		want     bool
	}{
		{argov1.OperationRunning, argov1.OperationTerminating, true},
		{"", argov1.OperationTerminating, true},
		{argov1.OperationTerminating, argov1.OperationTerminating, false},
		{argov1.OperationTerminating, argov1.OperationFailed, false},
		{argov1.OperationRunning, argov1.OperationSucceeded, false},
	} {
		got := terminationRequested{}.Update(event.UpdateEvent{ObjectOld: app(tc.old), ObjectNew: app(tc.new)})
		if got != tc.want {
			t.Errorf("%q -> %q wakes = %v, want %v", tc.old, tc.new, got, tc.want)
		}
	}
}

// terminate stops a running operation with a cause the sync can tell from
// a deletion's cancel.
func TestOperationsTerminateCarriesItsCause(t *testing.T) {
	for _, tc := range []struct {
		name       string
		stop       func(o *operations, key types.NamespacedName)
		terminated bool
	}{
		{"terminate", (*operations).terminate, true},
		{"cancel", (*operations).cancel, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOperations(1)
			key := types.NamespacedName{Namespace: "argocd", Name: "a"}
			got := make(chan bool, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{})
			if !o.start(ctx, key, o.reserve(key), func(ctx context.Context) {
				close(started)
				<-ctx.Done()
				got <- terminatedBy(ctx)
			}) {
				t.Fatal("not started")
			}
			<-started
			if !o.busy(key) {
				t.Fatal("a started operation is not busy")
			}
			tc.stop(o, key)
			select {
			case terminated := <-got:
				if terminated != tc.terminated {
					t.Errorf("terminatedBy = %v, want %v", terminated, tc.terminated)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the operation did not stop")
			}
			<-o.done // its end queues the app
		})
	}
}

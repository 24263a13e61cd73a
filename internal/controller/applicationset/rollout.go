package applicationset

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// RollingSync states of an Application, as Argo CD names them.
const (
	statusWaiting     = "Waiting"
	statusPending     = "Pending"
	statusProgressing = "Progressing"
	statusHealthy     = "Healthy"
)

// rollout advances a RollingSync: each Application belongs to the first
// step whose matchExpressions its labels meet (none: it is left out and
// synced by hand). An Application with changes waits; the first step
// with an Application that is not Healthy syncs its waiting ones, at most
// maxUpdate at a time; later steps wait until every earlier one is
// Healthy. It reports whether the rollout is still under way.
func (r *Reconciler) rollout(ctx context.Context, set *argov1.ApplicationSet, apps []*argov1.Application) (bool, error) {
	steps := set.Spec.Strategy.RollingSync
	if steps == nil || len(steps.Steps) == 0 {
		return false, fmt.Errorf("strategy RollingSync needs rollingSync.steps")
	}
	prev := map[string]argov1.ApplicationSetApplicationStatus{}
	for _, s := range set.Status.ApplicationStatus {
		prev[s.Application] = s
	}
	now := metav1.NewTime(r.now())
	byName := map[string]*argov1.Application{}
	stepOf := map[string]int{}
	var statuses []argov1.ApplicationSetApplicationStatus
	for _, app := range apps {
		step := matchStep(steps.Steps, app.Labels)
		if step == 0 {
			continue
		}
		byName[app.Name], stepOf[app.Name] = app, step
		st, seen := prev[app.Name]
		if !seen {
			st = argov1.ApplicationSetApplicationStatus{Application: app.Name, Status: statusWaiting, Message: "Application is new, setting status to Waiting.", LastTransitionTime: &now}
		}
		st.Step = strconv.Itoa(step)
		next, msg := transition(st.Status, app)
		if next != st.Status {
			st.Status, st.Message, st.LastTransitionTime = next, msg, &now
		}
		if next == statusHealthy {
			st.TargetRevisions = app.Status.Sync.Revisions
			if app.Status.Sync.Revision != "" && len(st.TargetRevisions) == 0 {
				st.TargetRevisions = []string{app.Status.Sync.Revision}
			}
		}
		statuses = append(statuses, st)
	}
	// The first step not fully Healthy is the one that moves.
	current := 0
	for i := 1; i <= len(steps.Steps) && current == 0; i++ {
		for _, st := range statuses {
			if stepOf[st.Application] == i && st.Status != statusHealthy {
				current = i
				break
			}
		}
	}
	var errs []error
	if current > 0 {
		var inStep []int
		busy := 0
		for j, st := range statuses {
			if stepOf[st.Application] != current {
				continue
			}
			inStep = append(inStep, j)
			if st.Status == statusPending || st.Status == statusProgressing {
				busy++
			}
		}
		limit := maxUpdate(steps.Steps[current-1].MaxUpdate, len(inStep))
		for _, j := range inStep {
			st := &statuses[j]
			if st.Status != statusWaiting || busy >= limit {
				continue
			}
			app := byName[st.Application]
			if app.Status.Sync.Status != argov1.SyncStatusCodeOutOfSync {
				continue // not compared yet, or nothing to sync
			}
			if err := r.triggerSync(ctx, app); err != nil {
				errs = append(errs, err)
				continue
			}
			busy++
			st.Status, st.Message, st.LastTransitionTime = statusPending, "Application moved to Pending status, watching for the Application resource to start Progressing.", &now
		}
	}
	slices.SortFunc(statuses, func(a, b argov1.ApplicationSetApplicationStatus) int {
		if a.Step != b.Step {
			return stepIndex(a) - stepIndex(b)
		}
		if a.Application < b.Application {
			return -1
		}
		return 1
	})
	set.Status.ApplicationStatus = statuses
	if current > 0 {
		r.condition(set, argov1.ApplicationSetConditionRolloutProgressing, "True", "ApplicationSetModified",
			fmt.Sprintf("ApplicationSet is performing rollout of step %d", current))
	} else {
		r.condition(set, argov1.ApplicationSetConditionRolloutProgressing, "False", "ApplicationSetRolloutComplete", "ApplicationSet Rollout has completed")
	}
	if len(errs) > 0 {
		return true, fmt.Errorf("rolling sync: %v", errs)
	}
	return current > 0, nil
}

func stepIndex(s argov1.ApplicationSetApplicationStatus) int {
	n, _ := strconv.Atoi(s.Step)
	return n
}

// transition moves one Application's state by what it shows now.
func transition(state string, app *argov1.Application) (string, string) {
	op := app.Status.OperationState
	running := app.Operation != nil || (op != nil && op.Phase == argov1.OperationRunning)
	synced := app.Status.Sync.Status == argov1.SyncStatusCodeSynced
	healthy := app.Status.Health.Status == argov1.HealthStatusHealthy
	switch state {
	case statusHealthy:
		if app.Status.Sync.Status == argov1.SyncStatusCodeOutOfSync {
			return statusWaiting, "Application has pending changes, setting status to Waiting."
		}
	case statusWaiting:
		if synced && healthy && !running {
			return statusHealthy, "Application resource is already Healthy, updating status from Waiting to Healthy."
		}
	case statusPending:
		if running {
			return statusProgressing, "Application resource became Progressing, updating status from Pending to Progressing."
		}
		if synced && healthy {
			return statusHealthy, "Application resource became Healthy, updating status from Pending to Healthy."
		}
	case statusProgressing:
		if synced && healthy && !running {
			return statusHealthy, "Application resource became Healthy, updating status from Progressing to Healthy."
		}
	default:
		return statusWaiting, "Application has pending changes, setting status to Waiting."
	}
	return state, ""
}

// matchStep is the 1-based step whose expressions all hold for labels, or
// 0.
func matchStep(steps []argov1.ApplicationSetRolloutStep, labels map[string]string) int {
	for i, s := range steps {
		ok := true
		for _, e := range s.MatchExpressions {
			v, has := labels[e.Key]
			switch e.Operator {
			case "In":
				ok = ok && has && slices.Contains(e.Values, v)
			case "NotIn":
				ok = ok && !(has && slices.Contains(e.Values, v))
			default:
				ok = false
			}
		}
		if ok {
			return i + 1
		}
	}
	return 0
}

// maxUpdate is how many of n Applications may sync at once.
func maxUpdate(v *intstr.IntOrString, n int) int {
	if v == nil {
		return n
	}
	if v.Type == intstr.String {
		pct, err := intstr.GetScaledValueFromIntOrPercent(v, n, false)
		if err != nil {
			return n
		}
		return max(pct, 1)
	}
	if v.IntValue() <= 0 {
		return math.MaxInt
	}
	return v.IntValue()
}

// triggerSync asks the Application controller to sync app, as Argo CD's
// ApplicationSet controller does for a RollingSync step.
func (r *Reconciler) triggerSync(ctx context.Context, app *argov1.Application) error {
	if app.Operation != nil {
		return nil
	}
	patch := client.MergeFrom(app.DeepCopy())
	op := &argov1.Operation{
		Sync:        &argov1.SyncOperation{},
		InitiatedBy: argov1.OperationInitiator{Username: "applicationset-controller", Automated: true},
		Info:        []argov1.Info{{Name: "Reason", Value: "ApplicationSet RollingSync triggered a sync of this Application resource."}},
	}
	if sp := app.Spec.SyncPolicy; sp != nil {
		op.Sync.SyncOptions = sp.SyncOptions
	}
	app.Operation = op
	if err := r.Client.Patch(ctx, app, patch); err != nil {
		return fmt.Errorf("sync Application %s: %w", app.Name, err)
	}
	return nil
}

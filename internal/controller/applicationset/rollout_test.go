package applicationset

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestMatchStep(t *testing.T) {
	steps := []argov1.ApplicationSetRolloutStep{
		{MatchExpressions: []argov1.ApplicationMatchExpression{{Key: "env", Operator: "In", Values: []string{"dev", "qa"}}}},
		{MatchExpressions: []argov1.ApplicationMatchExpression{{Key: "env", Operator: "In", Values: []string{"prod"}}, {Key: "region", Operator: "NotIn", Values: []string{"eu"}}}},
		{MatchExpressions: []argov1.ApplicationMatchExpression{{Key: "env", Operator: "Exists"}}},
	}
	tests := []struct {
		labels map[string]string
		want   int
	}{
		{map[string]string{"env": "qa"}, 1},
		{map[string]string{"env": "prod"}, 2},
		{map[string]string{"env": "prod", "region": "eu"}, 0}, // NotIn fails; Exists is not an operator RollingSync knows
		{nil, 0},
	}
	for _, tt := range tests {
		if got := matchStep(steps, tt.labels); got != tt.want {
			t.Errorf("matchStep(%v) = %d, want %d", tt.labels, got, tt.want)
		}
	}
}

func TestMaxUpdate(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }
	tests := []struct {
		v    *intstr.IntOrString
		n    int
		want int
	}{
		{nil, 4, 4},
		{num(1), 4, 1},
		{pct("50%"), 4, 2},
		{pct("10%"), 4, 1}, // at least one
		{num(0), 4, int(^uint(0) >> 1)},
	}
	for _, tt := range tests {
		if got := maxUpdate(tt.v, tt.n); got != tt.want {
			t.Errorf("maxUpdate(%v, %d) = %d, want %d", tt.v, tt.n, got, tt.want)
		}
	}
}

func TestTransition(t *testing.T) {
	app := func(sync argov1.SyncStatusCode, health argov1.HealthStatusCode, phase argov1.OperationPhase) *argov1.Application {
		a := &argov1.Application{}
		a.Status.Sync.Status, a.Status.Health.Status = sync, health
		if phase != "" {
			a.Status.OperationState = &argov1.OperationState{Phase: phase}
		}
		return a
	}
	tests := []struct {
		from string
		app  *argov1.Application
		want string
	}{
		{statusHealthy, app(argov1.SyncStatusCodeOutOfSync, argov1.HealthStatusHealthy, ""), statusWaiting},
		{statusWaiting, app(argov1.SyncStatusCodeSynced, argov1.HealthStatusHealthy, ""), statusHealthy},
		{statusWaiting, app(argov1.SyncStatusCodeOutOfSync, argov1.HealthStatusHealthy, ""), statusWaiting},
		{statusPending, app(argov1.SyncStatusCodeOutOfSync, argov1.HealthStatusHealthy, argov1.OperationRunning), statusProgressing},
		{statusPending, app(argov1.SyncStatusCodeSynced, argov1.HealthStatusHealthy, argov1.OperationSucceeded), statusHealthy},
		{statusProgressing, app(argov1.SyncStatusCodeSynced, argov1.HealthStatusProgressing, argov1.OperationSucceeded), statusProgressing},
		{statusProgressing, app(argov1.SyncStatusCodeSynced, argov1.HealthStatusHealthy, argov1.OperationSucceeded), statusHealthy},
	}
	for _, tt := range tests {
		if got, _ := transition(tt.from, tt.app); got != tt.want {
			t.Errorf("transition(%s, %s/%s) = %s, want %s", tt.from, tt.app.Status.Sync.Status, tt.app.Status.Health.Status, got, tt.want)
		}
	}
}

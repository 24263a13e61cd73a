package application

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// setCondition sets the one condition of type t, keeping its transition
// time when the message is unchanged.
func setCondition(app *argov1.Application, t argov1.ApplicationConditionType, msg string, now time.Time) {
	for i, c := range app.Status.Conditions {
		if c.Type != t {
			continue
		}
		if c.Message != msg {
			ts := metav1.NewTime(now)
			app.Status.Conditions[i] = argov1.ApplicationCondition{Type: t, Message: msg, LastTransitionTime: &ts}
		}
		return
	}
	ts := metav1.NewTime(now)
	app.Status.Conditions = append(app.Status.Conditions, argov1.ApplicationCondition{Type: t, Message: msg, LastTransitionTime: &ts})
}

// clearCondition removes the conditions of type t.
func clearCondition(app *argov1.Application, t argov1.ApplicationConditionType) {
	out := app.Status.Conditions[:0]
	for _, c := range app.Status.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	app.Status.Conditions = out
}

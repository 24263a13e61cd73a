// Package conditions sets the Flux-style status conditions (Ready,
// Reconciling, Stalled and kind-specific ones) on any object that exposes
// its conditions, following the kstatus conventions that Flux and its
// tools rely on:
//
//   - Ready=True: the last reconcile succeeded; Reconciling and Stalled
//     are removed.
//   - Reconciling=True: work is in progress (or being retried).
//   - Stalled=True: retrying cannot help until the object changes.
//
// Use:
//
//	conditions.MarkReconciling(obj, meta.ProgressingReason, "fetching %s", url)
//	...
//	conditions.MarkReady(obj, meta.SucceededReason, "stored artifact for revision '%s'", rev)
package conditions

import (
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

// Object is an object whose status holds metav1.Conditions.
type Object interface {
	GetGeneration() int64
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
}

// Set sets condition typ with the object's generation as
// observedGeneration. The transition time changes only when status does.
func Set(obj Object, typ string, status metav1.ConditionStatus, reason, format string, args ...any) {
	conds := obj.GetConditions()
	apimeta.SetStatusCondition(&conds, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            trim(fmt.Sprintf(format, args...)),
		ObservedGeneration: obj.GetGeneration(),
	})
	obj.SetConditions(conds)
}

// Delete removes condition typ.
func Delete(obj Object, typ string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, typ)
	obj.SetConditions(conds)
}

// Get returns condition typ, or nil.
func Get(obj Object, typ string) *metav1.Condition {
	return apimeta.FindStatusCondition(obj.GetConditions(), typ)
}

// IsTrue reports whether condition typ is True.
func IsTrue(obj Object, typ string) bool {
	return apimeta.IsStatusConditionTrue(obj.GetConditions(), typ)
}

// MarkReady sets Ready=True and removes Reconciling and Stalled.
func MarkReady(obj Object, reason, format string, args ...any) {
	Set(obj, meta.ReadyCondition, metav1.ConditionTrue, reason, format, args...)
	Delete(obj, meta.ReconcilingCondition)
	Delete(obj, meta.StalledCondition)
}

// MarkReconciling sets Reconciling=True and, unless Ready is already
// False, Ready=Unknown with the same reason and message.
func MarkReconciling(obj Object, reason, format string, args ...any) {
	Set(obj, meta.ReconcilingCondition, metav1.ConditionTrue, reason, format, args...)
	if c := Get(obj, meta.ReadyCondition); c == nil || c.Status != metav1.ConditionFalse {
		Set(obj, meta.ReadyCondition, metav1.ConditionUnknown, reason, format, args...)
	}
}

// MarkFailed sets Ready=False. A stalled failure (one that retrying cannot
// fix) sets Stalled=True and removes Reconciling; otherwise Reconciling is
// kept True with reason ProgressingWithRetry, as Flux does.
func MarkFailed(obj Object, stalled bool, reason, format string, args ...any) {
	Set(obj, meta.ReadyCondition, metav1.ConditionFalse, reason, format, args...)
	if stalled {
		Set(obj, meta.StalledCondition, metav1.ConditionTrue, reason, format, args...)
		Delete(obj, meta.ReconcilingCondition)
		return
	}
	Delete(obj, meta.StalledCondition)
	Set(obj, meta.ReconcilingCondition, metav1.ConditionTrue, meta.ProgressingWithRetryReason, format, args...)
}

// maxMessage is the API server's limit on condition messages.
const maxMessage = 32768

func trim(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}

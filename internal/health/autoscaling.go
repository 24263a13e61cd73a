package health

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hpaConditionsAnnotation is where autoscaling/v1 keeps the conditions that
// later versions put in status.conditions.
const hpaConditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"

// hpaWaiting is Argo CD's verdict for an autoscaler with nothing to judge yet.
const hpaWaiting = "Waiting to Autoscale"

// hpaCondition is one autoscaler condition; the same shape in v1's
// annotation and in the status of v2beta1, v2beta2 and v2.
type hpaCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// hpaFailures are the (type, reason) pairs that make an autoscaler Degraded:
// it cannot read or change its target's scale, or cannot read its metrics.
var hpaFailures = []hpaCondition{
	{Type: "AbleToScale", Reason: "FailedGetScale"},
	{Type: "AbleToScale", Reason: "FailedUpdateScale"},
	{Type: "ScalingActive", Reason: "FailedGetResourceMetric"},
	{Type: "ScalingActive", Reason: "FailedGetObjectMetric"},
	{Type: "ScalingActive", Reason: "InvalidSelector"},
}

// hpaHealth: a failure condition makes the autoscaler Degraded; otherwise a
// true AbleToScale or ScalingLimited condition makes it Healthy (with that
// condition's message); otherwise it is Progressing.
func hpaHealth(obj *unstructured.Unstructured) (*Result, error) {
	var conds []hpaCondition
	switch v := obj.GetAPIVersion(); v {
	case "autoscaling/v1":
		raw, ok := obj.GetAnnotations()[hpaConditionsAnnotation]
		if !ok {
			return progressing(hpaWaiting), nil
		}
		if err := json.Unmarshal([]byte(raw), &conds); err != nil {
			return nil, fmt.Errorf("parse annotation %s: %w", hpaConditionsAnnotation, err)
		}
	case "autoscaling/v2", "autoscaling/v2beta2", "autoscaling/v2beta1":
		var hpa struct {
			Status struct {
				Conditions []hpaCondition `json:"conditions"`
			} `json:"status"`
		}
		if err := fromUnstructured(obj, &hpa); err != nil {
			return nil, err
		}
		conds = hpa.Status.Conditions
	default:
		return nil, fmt.Errorf("unsupported apiVersion %q for HorizontalPodAutoscaler", v)
	}
	return judgeHPA(conds), nil
}

// judgeHPA applies hpaHealth's rule to the conditions.
func judgeHPA(conds []hpaCondition) *Result {
	for _, c := range conds {
		if slices.Contains(hpaFailures, hpaCondition{Type: c.Type, Reason: c.Reason}) {
			return &Result{Status: Degraded, Message: c.Message}
		}
	}
	for _, c := range conds {
		if (c.Type == "AbleToScale" || c.Type == "ScalingLimited") && c.Status == "True" {
			return &Result{Status: Healthy, Message: c.Message}
		}
	}
	return progressing(hpaWaiting)
}

package health

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// jobHealth reads a Job's conditions as Argo CD does: without a Failed,
// Complete or Suspended condition the Job is still running (Progressing);
// Failed is Degraded, a true Suspended is Suspended, anything else is done
// (Healthy). Like Argo CD it looks at the condition types only, not at their
// status, except for Suspended.
func jobHealth(obj *unstructured.Unstructured) (*Result, error) {
	job, err := decode[batchv1.Job](obj, "batch/v1")
	if err != nil {
		return nil, err
	}
	var failed, finished, suspended bool
	var msg, failMsg string
	for _, c := range job.Status.Conditions {
		switch c.Type {
		case batchv1.JobFailed:
			failed, finished, failMsg = true, true, c.Message
		case batchv1.JobComplete:
			finished, msg = true, c.Message
		case batchv1.JobSuspended:
			finished, msg = true, c.Message
			if c.Status == corev1.ConditionTrue {
				suspended = true
			}
		}
	}
	switch {
	case !finished:
		return &Result{Status: Progressing, Message: msg}, nil
	case failed:
		return &Result{Status: Degraded, Message: failMsg}, nil
	case suspended:
		return &Result{Status: Suspended, Message: msg}, nil
	}
	return &Result{Status: Healthy, Message: msg}, nil
}

// workflow is the part of an Argo Workflow the rule reads; it fits every
// version of the CRD.
type workflow struct {
	Status struct {
		Phase   string `json:"phase"`
		Message string `json:"message"`
	} `json:"status"`
}

// workflowHealth maps an Argo Workflow's phase: not started, Pending or
// Running is Progressing, Succeeded Healthy, Failed or Error Degraded.
func workflowHealth(obj *unstructured.Unstructured) (*Result, error) {
	var wf workflow
	if err := fromUnstructured(obj, &wf); err != nil {
		return nil, err
	}
	msg := wf.Status.Message
	switch wf.Status.Phase {
	case "", "Pending", "Running":
		return &Result{Status: Progressing, Message: msg}, nil
	case "Succeeded":
		return &Result{Status: Healthy, Message: msg}, nil
	case "Failed", "Error":
		return &Result{Status: Degraded, Message: msg}, nil
	}
	return &Result{Status: Unknown, Message: msg}, nil
}

package health

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ignoreRestartPolicy is the annotation with which a Pod whose restart
// policy is OnFailure or Never (usually a finite hook Pod, which Argo CD
// keeps Progressing while it runs) asks to be judged like a long-running
// Pod instead.
const ignoreRestartPolicy = "argocd.argoproj.io/ignore-restart-policy"

// podHealth judges a Pod by its phase. A long-running Pod (restart policy
// Always) with a container stuck waiting for an error reason
// (CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerError,
// ...) is Degraded whatever its phase; finite Pods are spared that rule so
// that a hook whose image is late does not fail the sync.
func podHealth(obj *unstructured.Unstructured) (*Result, error) {
	pod, err := decode[corev1.Pod](obj, "v1")
	if err != nil {
		return nil, err
	}
	_, ignorePolicy := pod.Annotations[ignoreRestartPolicy]
	longRunning := pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || ignorePolicy
	if longRunning {
		if msgs := waitingErrors(pod.Status.ContainerStatuses); len(msgs) > 0 {
			return &Result{Status: Degraded, Message: strings.Join(msgs, ", ")}, nil
		}
	}
	msg := pod.Status.Message
	switch pod.Status.Phase {
	case corev1.PodPending:
		return &Result{Status: Progressing, Message: msg}, nil
	case corev1.PodSucceeded:
		return &Result{Status: Healthy, Message: msg}, nil
	case corev1.PodFailed:
		return &Result{Status: Degraded, Message: podFailure(pod)}, nil
	case corev1.PodRunning:
		switch {
		case longRunning:
			return runningPodHealth(pod), nil
		case pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure, pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return &Result{Status: Progressing, Message: msg}, nil
		}
	}
	return &Result{Status: Unknown, Message: msg}, nil
}

// waitingErrors returns the messages of containers waiting for a reason that
// names an error: one that starts with "Err" or ends with "Error" or
// "BackOff".
func waitingErrors(statuses []corev1.ContainerStatus) []string {
	var msgs []string
	for _, cs := range statuses {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		if strings.HasPrefix(w.Reason, "Err") || strings.HasSuffix(w.Reason, "Error") || strings.HasSuffix(w.Reason, "BackOff") {
			msgs = append(msgs, w.Message)
		}
	}
	return msgs
}

// runningPodHealth: ready is Healthy; not ready after a container has
// already terminated once is Degraded; otherwise still Progressing.
func runningPodHealth(pod *corev1.Pod) *Result {
	msg := pod.Status.Message
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return &Result{Status: Healthy, Message: msg}
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.LastTerminationState.Terminated != nil {
			return &Result{Status: Degraded, Message: msg}
		}
	}
	return &Result{Status: Progressing, Message: msg}
}

// podFailure explains a failed Pod: its own message, else the first
// container (init containers first) that says why it terminated.
func podFailure(pod *corev1.Pod) string {
	if pod.Status.Message != "" {
		return pod.Status.Message
	}
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		t := cs.State.Terminated
		switch {
		case t == nil:
		case t.Message != "":
			return t.Message
		case t.Reason == "OOMKilled":
			return t.Reason
		case t.ExitCode != 0:
			return fmt.Sprintf("container %q failed with exit code %d", cs.Name, t.ExitCode)
		}
	}
	return ""
}

package health

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The rollout rules below follow kubectl's "rollout status", as Argo CD's do.

// deploymentHealth: paused is Suspended, an exceeded progress deadline is
// Degraded, an unfinished rollout is Progressing.
func deploymentHealth(obj *unstructured.Unstructured) (*Result, error) {
	d, err := decode[appsv1.Deployment](obj, "apps/v1")
	if err != nil {
		return nil, err
	}
	if d.Spec.Paused {
		return &Result{Status: Suspended, Message: "Deployment is paused"}, nil
	}
	if d.Generation > d.Status.ObservedGeneration {
		return progressing("Waiting for rollout to finish: observed deployment generation less than desired generation"), nil
	}
	st := d.Status
	for _, c := range st.Conditions {
		if c.Type != appsv1.DeploymentProgressing {
			continue
		}
		if c.Reason == "ProgressDeadlineExceeded" {
			return &Result{Status: Degraded, Message: fmt.Sprintf("Deployment %q exceeded its progress deadline", d.Name)}, nil
		}
		break // Argo CD only looks at the first Progressing condition.
	}
	switch {
	case d.Spec.Replicas != nil && st.UpdatedReplicas < *d.Spec.Replicas:
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d out of %d new replicas have been updated...", st.UpdatedReplicas, *d.Spec.Replicas)), nil
	case st.Replicas > st.UpdatedReplicas:
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d old replicas are pending termination...", st.Replicas-st.UpdatedReplicas)), nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d of %d updated replicas are available...", st.AvailableReplicas, st.UpdatedReplicas)), nil
	}
	return &Result{Status: Healthy}, nil
}

// statefulSetHealth: Progressing until the spec is observed, every replica
// is ready and the update (partitioned or rolling) has finished. OnDelete
// sets are Healthy once their replicas are ready.
func statefulSetHealth(obj *unstructured.Unstructured) (*Result, error) {
	s, err := decode[appsv1.StatefulSet](obj, "apps/v1")
	if err != nil {
		return nil, err
	}
	st, spec := s.Status, s.Spec
	if st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration {
		return progressing("Waiting for statefulset spec update to be observed..."), nil
	}
	if spec.Replicas != nil && st.ReadyReplicas < *spec.Replicas {
		return progressing(fmt.Sprintf("Waiting for %d pods to be ready...", *spec.Replicas-st.ReadyReplicas)), nil
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && spec.UpdateStrategy.RollingUpdate != nil {
		if p := spec.UpdateStrategy.RollingUpdate.Partition; spec.Replicas != nil && p != nil {
			if want := *spec.Replicas - *p; st.UpdatedReplicas < want {
				return progressing(fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", st.UpdatedReplicas, want)), nil
			}
		}
		return &Result{Status: Healthy, Message: fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...", st.UpdatedReplicas)}, nil
	}
	if spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return &Result{Status: Healthy, Message: fmt.Sprintf("statefulset has %d ready pods", st.ReadyReplicas)}, nil
	}
	if st.UpdateRevision != st.CurrentRevision {
		return progressing(fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...", st.UpdatedReplicas, st.UpdateRevision)), nil
	}
	return &Result{Status: Healthy, Message: fmt.Sprintf("statefulset rolling update complete %d pods at revision %s...", st.CurrentReplicas, st.CurrentRevision)}, nil
}

// daemonSetHealth: Progressing until the spec is observed and every desired
// pod is updated and available; OnDelete sets are Healthy once observed.
func daemonSetHealth(obj *unstructured.Unstructured) (*Result, error) {
	d, err := decode[appsv1.DaemonSet](obj, "apps/v1")
	if err != nil {
		return nil, err
	}
	st := d.Status
	if d.Generation > st.ObservedGeneration {
		return progressing("Waiting for rollout to finish: observed daemon set generation less than desired generation"), nil
	}
	if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return &Result{Status: Healthy, Message: fmt.Sprintf("daemon set %d out of %d new pods have been updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}, nil
	}
	if st.UpdatedNumberScheduled < st.DesiredNumberScheduled {
		return progressing(fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...", d.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled)), nil
	}
	if st.NumberAvailable < st.DesiredNumberScheduled {
		return progressing(fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...", d.Name, st.NumberAvailable, st.DesiredNumberScheduled)), nil
	}
	return &Result{Status: Healthy}, nil
}

// replicaSetHealth: a true ReplicaFailure condition is Degraded; fewer
// available replicas than wanted is Progressing.
func replicaSetHealth(obj *unstructured.Unstructured) (*Result, error) {
	r, err := decode[appsv1.ReplicaSet](obj, "apps/v1")
	if err != nil {
		return nil, err
	}
	if r.Generation > r.Status.ObservedGeneration {
		return progressing("Waiting for rollout to finish: observed replica set generation less than desired generation"), nil
	}
	for _, c := range r.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure {
			if c.Status == corev1.ConditionTrue {
				return &Result{Status: Degraded, Message: c.Message}, nil
			}
			break // Argo CD only looks at the first ReplicaFailure condition.
		}
	}
	if r.Spec.Replicas != nil && r.Status.AvailableReplicas < *r.Spec.Replicas {
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d out of %d new replicas are available...", r.Status.AvailableReplicas, *r.Spec.Replicas)), nil
	}
	return &Result{Status: Healthy}, nil
}

// progressing is a Progressing result with msg.
func progressing(msg string) *Result {
	return &Result{Status: Progressing, Message: msg}
}

package health

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// serviceHealth: a LoadBalancer Service is Progressing until the cloud gives
// it an ingress point; every other Service is Healthy.
func serviceHealth(obj *unstructured.Unstructured) (*Result, error) {
	svc, err := decode[corev1.Service](obj, "v1")
	if err != nil {
		return nil, err
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) == 0 {
		return &Result{Status: Progressing}, nil
	}
	return &Result{Status: Healthy}, nil
}

// ingressHealth: an Ingress is Progressing until its controller publishes a
// load-balancer address. The status has the same shape in every version
// (extensions/v1beta1, networking.k8s.io/v1beta1 and v1).
func ingressHealth(obj *unstructured.Unstructured) (*Result, error) {
	switch v := obj.GetAPIVersion(); v {
	case "networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1":
	default:
		return nil, fmt.Errorf("unsupported apiVersion %q for Ingress", v)
	}
	ingress, _, err := unstructured.NestedSlice(obj.Object, "status", "loadBalancer", "ingress")
	if err != nil {
		return nil, fmt.Errorf("read status.loadBalancer.ingress: %w", err)
	}
	if len(ingress) == 0 {
		return &Result{Status: Progressing}, nil
	}
	return &Result{Status: Healthy}, nil
}

// pvcHealth maps the claim's phase: Bound is Healthy, Pending Progressing,
// Lost Degraded, anything else Unknown.
func pvcHealth(obj *unstructured.Unstructured) (*Result, error) {
	pvc, err := decode[corev1.PersistentVolumeClaim](obj, "v1")
	if err != nil {
		return nil, err
	}
	switch pvc.Status.Phase {
	case corev1.ClaimBound:
		return &Result{Status: Healthy}, nil
	case corev1.ClaimPending:
		return &Result{Status: Progressing}, nil
	case corev1.ClaimLost:
		return &Result{Status: Degraded}, nil
	}
	return &Result{Status: Unknown}, nil
}

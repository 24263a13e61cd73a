package health

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// apiService is the part of an APIService the rule reads; v1 and v1beta1
// share it.
type apiService struct {
	Status struct {
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
}

// apiServiceHealth: the first Available condition decides, Healthy when
// true and Progressing otherwise, with "reason: message"; without one the
// APIService is still Progressing.
func apiServiceHealth(obj *unstructured.Unstructured) (*Result, error) {
	switch v := obj.GetAPIVersion(); v {
	case "apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1beta1":
	default:
		return nil, fmt.Errorf("unsupported apiVersion %q for APIService", v)
	}
	var svc apiService
	if err := fromUnstructured(obj, &svc); err != nil {
		return nil, err
	}
	for _, c := range svc.Status.Conditions {
		if c.Type != "Available" {
			continue
		}
		msg := fmt.Sprintf("%s: %s", c.Reason, c.Message)
		if c.Status == "True" {
			return &Result{Status: Healthy, Message: msg}, nil
		}
		return progressing(msg), nil
	}
	return progressing("Waiting to be processed"), nil
}

// crdHealth: a CRD being deleted is Progressing; names not accepted, not
// established or a non-structural schema make it Degraded; without any
// condition yet it is Progressing.
func crdHealth(obj *unstructured.Unstructured) (*Result, error) {
	crd, err := decode[apiextensionsv1.CustomResourceDefinition](obj, "apiextensions.k8s.io/v1")
	if err != nil {
		return nil, err
	}
	if len(crd.Status.Conditions) == 0 {
		return progressing("Status conditions not found"), nil
	}
	var established, terminating, namesRejected, nonStructural bool
	var msg string
	for _, c := range crd.Status.Conditions {
		switch c.Type {
		case apiextensionsv1.Terminating:
			if c.Status == apiextensionsv1.ConditionTrue {
				terminating, msg = true, c.Message
			}
		case apiextensionsv1.NamesAccepted:
			if c.Status == apiextensionsv1.ConditionFalse {
				namesRejected, msg = true, c.Message
			}
		case apiextensionsv1.Established:
			if c.Status == apiextensionsv1.ConditionTrue {
				established = true
			} else {
				msg = c.Message
			}
		case apiextensionsv1.NonStructuralSchema:
			if c.Status == apiextensionsv1.ConditionTrue {
				nonStructural, msg = true, c.Message
			}
		}
	}
	switch {
	case terminating:
		return progressing("CRD is being terminated: " + msg), nil
	case namesRejected:
		return &Result{Status: Degraded, Message: "CRD names have not been accepted: " + msg}, nil
	case !established:
		return &Result{Status: Degraded, Message: "CRD is not established: " + msg}, nil
	case nonStructural:
		return &Result{Status: Degraded, Message: "Schema violations found: " + msg}, nil
	}
	return &Result{Status: Healthy, Message: "CRD is healthy"}, nil
}

// fromUnstructured decodes obj into out (a struct with JSON tags).
func fromUnstructured(obj *unstructured.Unstructured, out any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out); err != nil {
		return fmt.Errorf("decode %s: %w", obj.GetAPIVersion(), err)
	}
	return nil
}

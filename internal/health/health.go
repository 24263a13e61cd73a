package health

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Status is the health of one object, spelled exactly as Argo CD spells it
// in an Application's status.
type Status string

// The health statuses Argo CD knows, from best to worst.
const (
	// Healthy means the object has reached the state its spec asks for.
	Healthy Status = "Healthy"
	// Suspended means the object is paused on purpose (a paused Deployment,
	// a suspended Job).
	Suspended Status = "Suspended"
	// Progressing means the object is not there yet but may still get there.
	Progressing Status = "Progressing"
	// Missing means the object does not exist in the cluster. Assess never
	// returns it; callers use it for objects they could not find.
	Missing Status = "Missing"
	// Degraded means the object failed or cannot reach its desired state.
	Degraded Status = "Degraded"
	// Unknown means the health could not be assessed.
	Unknown Status = "Unknown"
)

// order ranks the statuses from best to worst, as Argo CD's IsWorse does.
var order = []Status{Healthy, Suspended, Progressing, Missing, Degraded, Unknown}

// hookFinalizer is the finalizer Argo CD puts on hook resources; an object
// being deleted while it still carries it is judged on its status, not as
// "Pending deletion".
const hookFinalizer = "argocd.argoproj.io/hook-finalizer"

// Result is the outcome of assessing one object: its Status and a
// human-readable Message (often empty, as in Argo CD).
type Result struct {
	Status  Status
	Message string
}

// check assesses one kind of object.
type check func(obj *unstructured.Unstructured) (*Result, error)

// Assess returns the health of one live object by the rules Argo CD has
// built in for its group and kind, or nil when Argo CD has no rule for the
// kind (callers then treat the object as Healthy or use their own rule).
//
// An object that is being deleted is Progressing with the message "Pending
// deletion", whatever its kind, unless it still carries Argo CD's hook
// finalizer. When the object cannot be read (an unsupported apiVersion of a
// known kind, a malformed status) Assess returns an Unknown result whose
// message is the error, together with that error.
func Assess(obj *unstructured.Unstructured) (*Result, error) {
	if obj.GetDeletionTimestamp() != nil && !slices.Contains(obj.GetFinalizers(), hookFinalizer) {
		return &Result{Status: Progressing, Message: "Pending deletion"}, nil
	}
	fn := checkFor(obj.GroupVersionKind().GroupKind())
	if fn == nil {
		return nil, nil
	}
	res, err := fn(obj)
	if err != nil {
		err = fmt.Errorf("assess health of %s %s: %w", obj.GetKind(), objectName(obj), err)
		return &Result{Status: Unknown, Message: err.Error()}, err
	}
	return res, nil
}

// Worst returns the worst of statuses in Argo CD's order
// Healthy < Suspended < Progressing < Missing < Degraded < Unknown, or
// Healthy when statuses is empty. Like Argo CD, it ranks a string it does
// not know as Healthy.
func Worst(statuses ...Status) Status {
	worst := Healthy
	for _, s := range statuses {
		if rank(s) > rank(worst) {
			worst = s
		}
	}
	return worst
}

// rank is the position of s in order, 0 for a status outside it.
func rank(s Status) int {
	return max(slices.Index(order, s), 0)
}

// checkFor picks the rule for a group and kind, or nil when there is none.
func checkFor(gk schema.GroupKind) check {
	switch gk.Group {
	case "apps":
		switch gk.Kind {
		case "Deployment":
			return deploymentHealth
		case "StatefulSet":
			return statefulSetHealth
		case "ReplicaSet":
			return replicaSetHealth
		case "DaemonSet":
			return daemonSetHealth
		}
	case "extensions", "networking.k8s.io":
		if gk.Kind == "Ingress" {
			return ingressHealth
		}
	case "":
		switch gk.Kind {
		case "Service":
			return serviceHealth
		case "PersistentVolumeClaim":
			return pvcHealth
		case "Pod":
			return podHealth
		}
	case "batch":
		if gk.Kind == "Job" {
			return jobHealth
		}
	case "autoscaling":
		if gk.Kind == "HorizontalPodAutoscaler" {
			return hpaHealth
		}
	case "apiregistration.k8s.io":
		if gk.Kind == "APIService" {
			return apiServiceHealth
		}
	case "apiextensions.k8s.io":
		if gk.Kind == "CustomResourceDefinition" {
			return crdHealth
		}
	case "argoproj.io":
		if gk.Kind == "Workflow" {
			return workflowHealth
		}
	}
	return nil
}

// decode converts obj into T after checking that its apiVersion is one of
// versions (T's layout only fits those).
func decode[T any](obj *unstructured.Unstructured, versions ...string) (*T, error) {
	if v := obj.GetAPIVersion(); !slices.Contains(versions, v) {
		return nil, fmt.Errorf("unsupported apiVersion %q (want %v)", v, versions)
	}
	var out T
	if err := fromUnstructured(obj, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// objectName is "namespace/name", or "name" for cluster-scoped objects.
func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

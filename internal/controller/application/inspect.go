package application

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Inspection is an app's desired objects beside the live ones, made
// without writing anything: what the API's managed-resources, manifests
// and resource-tree answers are built from.
type Inspection struct {
	// Revision is the rendered commit (of the first source).
	Revision string
	// Resources are the app's objects: desired, live and predicted.
	Resources []InspectedResource
	// Hooks are the hooks the revision renders.
	Hooks []*unstructured.Unstructured
	// Children are live objects owned, directly or not, by the app's
	// workloads: ReplicaSets, Pods, Jobs.
	Children []Child
}

// InspectedResource is one desired (or left-over) object.
type InspectedResource struct {
	// Desired is the rendered object; nil for a left-over.
	Desired *unstructured.Unstructured
	// Live is the object in the cluster; nil when missing.
	Live *unstructured.Unstructured
	// Predicted is the live object after a server-side apply dry run of
	// Desired; nil when it could not be predicted.
	Predicted *unstructured.Unstructured
	// Ref names the object, as status.resources does.
	Ref argov1.ResourceStatus
	// Error is why the dry run refused the object; "" when it did not.
	Error string
}

// Child is a live object owned by an app's object.
type Child struct {
	Object client.Object
	// Kind and Group name Object's kind.
	Group, Version, Kind string
	// Health is its health by Argo CD's rules; nil when it has none.
	Health *argov1.HealthStatus
}

// ErrNoDestination is returned by Inspect for an app whose project or
// destination does not validate.
var ErrNoDestination = errors.New("the application's destination cannot be used")

// Inspect renders app's target revision and compares it with its
// destination, as a refresh does, but writes nothing: not the app's
// status, not the cluster (the comparison's dry runs change nothing).
func (r *Reconciler) Inspect(ctx context.Context, app *argov1.Application) (*Inspection, error) {
	app = app.DeepCopy()
	t, err := r.validate(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDestination, err)
	}
	if err := t.dest.check(ctx); err != nil {
		return nil, err
	}
	m, err := r.render(ctx, app, fetchOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to generate manifests: %w", err)
	}
	cmp, err := r.compare(ctx, app, t, m)
	if err != nil {
		return nil, err
	}
	out := &Inspection{Revision: m.revision()}
	refs := cmp.statusResources()
	byID := map[string]argov1.ResourceStatus{}
	for _, ref := range refs {
		byID[statusID(ref)] = ref
	}
	var workloads []*unstructured.Unstructured
	for _, res := range cmp.resources {
		in := InspectedResource{Desired: res.Desired, Live: res.Live, Predicted: res.Predicted}
		gvk := res.Desired.GroupVersionKind()
		in.Ref = byID[statusID(argov1.ResourceStatus{Group: gvk.Group, Kind: gvk.Kind, Namespace: res.Desired.GetNamespace(), Name: res.Desired.GetName()})]
		if res.Err != nil {
			in.Error = res.Err.Error()
		}
		if res.Live != nil {
			workloads = append(workloads, res.Live)
		}
		out.Resources = append(out.Resources, in)
	}
	for _, x := range cmp.extraneous {
		out.Resources = append(out.Resources, InspectedResource{Ref: x.ref})
	}
	for _, h := range cmp.hooks {
		out.Hooks = append(out.Hooks, h.Obj)
	}
	out.Children, err = r.children(ctx, t.dest, workloads)
	return out, err
}

// children lists the ReplicaSets, Pods and Jobs that the app's live
// workloads own (Deployment -> ReplicaSet -> Pod; StatefulSet, DaemonSet
// and Job -> Pod; CronJob -> Job -> Pod), reading each namespace of them
// once per kind.
func (r *Reconciler) children(ctx context.Context, dest *destination, workloads []*unstructured.Unstructured) ([]Child, error) {
	owners := map[types.UID]bool{}
	namespaces := map[string]bool{}
	for _, w := range workloads {
		switch w.GetKind() {
		case "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet":
			owners[w.GetUID()] = true
			namespaces[w.GetNamespace()] = true
		}
	}
	var out []Child
	for ns := range namespaces {
		// Owners before the owned: each level adds the next level's owners.
		for _, level := range []struct {
			list        client.ObjectList
			group, kind string
			items       func(client.ObjectList) []client.Object
		}{
			{&batchv1.JobList{}, "batch", "Job", func(l client.ObjectList) []client.Object { return itemsOf(l.(*batchv1.JobList).Items) }},
			{&appsv1.ReplicaSetList{}, "apps", "ReplicaSet", func(l client.ObjectList) []client.Object { return itemsOf(l.(*appsv1.ReplicaSetList).Items) }},
			{&corev1.PodList{}, "", "Pod", func(l client.ObjectList) []client.Object { return itemsOf(l.(*corev1.PodList).Items) }},
		} {
			if err := dest.reader.List(ctx, level.list, client.InNamespace(ns)); err != nil {
				return nil, fmt.Errorf("list %ss in %s: %w", level.kind, ns, err)
			}
			for _, o := range level.items(level.list) {
				if !ownedBy(o, owners) {
					continue
				}
				owners[o.GetUID()] = true
				version := "v1"
				out = append(out, Child{Object: o, Group: level.group, Version: version, Kind: level.kind, Health: childHealth(ctx, o, level.group, level.kind)})
			}
		}
	}
	return out, nil
}

// itemsOf returns pointers to a typed list's items.
func itemsOf[T any, P interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

func ownedBy(o metav1.Object, owners map[types.UID]bool) bool {
	for _, ref := range o.GetOwnerReferences() {
		if owners[ref.UID] {
			return true
		}
	}
	return false
}

// childHealth is a child's health by Argo CD's built-in rules.
func childHealth(ctx context.Context, o client.Object, group, kind string) *argov1.HealthStatus {
	data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil
	}
	u := &unstructured.Unstructured{Object: data}
	u.SetAPIVersion(groupVersion(group))
	u.SetKind(kind)
	return healthOf(ctx, nil, u)
}

func groupVersion(group string) string {
	if group == "" {
		return "v1"
	}
	return group + "/v1"
}

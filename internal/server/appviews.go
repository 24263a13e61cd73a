package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/application"
)

// Inspector renders an app and compares it with its cluster without
// writing anything; the Application controller of `tether run` is one.
type Inspector interface {
	Inspect(ctx context.Context, app *argov1.Application) (*application.Inspection, error)
}

// inspect reads the request's app (get rights) and inspects it; it has
// answered when ok is false.
func (s *Server) inspect(w http.ResponseWriter, r *http.Request) (*argov1.Application, *application.Inspection, bool) {
	if s.deps.Inspector == nil {
		writeError(w, codeUnavailable, "this server runs no Application controller: run `tether run` to inspect apps")
		return nil, nil, false
	}
	app, ok := s.readApplication(w, r, actGet)
	if !ok {
		return nil, nil, false
	}
	in, err := s.deps.Inspector.Inspect(r.Context(), app)
	switch {
	case errors.Is(err, application.ErrNoDestination):
		writeError(w, codeFailedPrecondition, err.Error())
		return nil, nil, false
	case err != nil:
		// Render and comparison errors name files and objects, never
		// Secret values: the app's status shows the same.
		writeError(w, codeUnavailable, err.Error())
		return nil, nil, false
	}
	return app, in, true
}

// managedResource is one entry of managed-resources, in Argo CD's shape:
// the states are JSON documents in strings.
type managedResource struct {
	Group               string `json:"group,omitempty"`
	Kind                string `json:"kind"`
	Namespace           string `json:"namespace,omitempty"`
	Name                string `json:"name"`
	TargetState         string `json:"targetState,omitempty"`
	LiveState           string `json:"liveState,omitempty"`
	PredictedLiveState  string `json:"predictedLiveState,omitempty"`
	NormalizedLiveState string `json:"normalizedLiveState,omitempty"`
	Hook                bool   `json:"hook,omitempty"`
	Modified            bool   `json:"modified"`
	Error               string `json:"error,omitempty"`
}

// managedResources is GET /api/v1/applications/{name}/managed-resources:
// each object's desired, live and predicted state, Secrets masked.
func (s *Server) managedResources(w http.ResponseWriter, r *http.Request) {
	_, in, ok := s.inspect(w, r)
	if !ok {
		return
	}
	out := struct {
		Items []managedResource `json:"items"`
	}{Items: []managedResource{}}
	for _, res := range in.Resources {
		desired, live, predicted := copyOf(res.Desired), copyOf(res.Live), copyOf(res.Predicted)
		maskSecrets(desired, live, predicted)
		for _, o := range []*unstructured.Unstructured{live, predicted} {
			if o != nil {
				o.SetManagedFields(nil)
			}
		}
		out.Items = append(out.Items, managedResource{
			Group: res.Ref.Group, Kind: res.Ref.Kind, Namespace: res.Ref.Namespace, Name: res.Ref.Name,
			TargetState: jsonOf(desired), LiveState: jsonOf(live), PredictedLiveState: jsonOf(predicted),
			NormalizedLiveState: jsonOf(live),
			Modified:            res.Ref.Status != argov1.SyncStatusCodeSynced, Error: res.Error,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// manifests is GET /api/v1/applications/{name}/manifests: what the
// target revision renders (hooks included), Secrets masked.
func (s *Server) manifests(w http.ResponseWriter, r *http.Request) {
	app, in, ok := s.inspect(w, r)
	if !ok {
		return
	}
	out := struct {
		Manifests  []string `json:"manifests"`
		Revision   string   `json:"revision"`
		SourceType string   `json:"sourceType,omitempty"`
	}{Manifests: []string{}, Revision: in.Revision, SourceType: string(app.Status.SourceType)}
	objs := make([]*unstructured.Unstructured, 0, len(in.Resources)+len(in.Hooks))
	for _, res := range in.Resources {
		if res.Desired != nil {
			objs = append(objs, res.Desired)
		}
	}
	objs = append(objs, in.Hooks...)
	for _, o := range objs {
		o = copyOf(o)
		maskSecrets(o)
		out.Manifests = append(out.Manifests, jsonOf(o))
	}
	writeJSON(w, http.StatusOK, out)
}

// treeNode is one node of the resource tree, in Argo CD's shape.
type treeNode struct {
	Group           string               `json:"group,omitempty"`
	Version         string               `json:"version"`
	Kind            string               `json:"kind"`
	Namespace       string               `json:"namespace,omitempty"`
	Name            string               `json:"name"`
	UID             string               `json:"uid,omitempty"`
	ResourceVersion string               `json:"resourceVersion,omitempty"`
	ParentRefs      []treeRef            `json:"parentRefs,omitempty"`
	Health          *argov1.HealthStatus `json:"health,omitempty"`
	CreatedAt       *metav1.Time         `json:"createdAt,omitempty"`
}

type treeRef struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
}

// resourceTree is GET /api/v1/applications/{name}/resource-tree: the
// app's live objects and what their workloads own (Deployment ->
// ReplicaSet -> Pod), each with its health.
func (s *Server) resourceTree(w http.ResponseWriter, r *http.Request) {
	_, in, ok := s.inspect(w, r)
	if !ok {
		return
	}
	nodes := []treeNode{}
	byUID := map[string]treeRef{}
	for _, res := range in.Resources {
		if res.Live == nil {
			continue
		}
		gvk := res.Live.GroupVersionKind()
		created := res.Live.GetCreationTimestamp()
		n := treeNode{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: res.Live.GetNamespace(),
			Name: res.Live.GetName(), UID: string(res.Live.GetUID()), ResourceVersion: res.Live.GetResourceVersion(),
			Health: res.Ref.Health, CreatedAt: &created}
		nodes = append(nodes, n)
		byUID[n.UID] = treeRef{Group: n.Group, Kind: n.Kind, Namespace: n.Namespace, Name: n.Name, UID: n.UID}
	}
	for _, c := range in.Children {
		byUID[string(c.Object.GetUID())] = treeRef{Group: c.Group, Kind: c.Kind, Namespace: c.Object.GetNamespace(), Name: c.Object.GetName(), UID: string(c.Object.GetUID())}
	}
	for _, c := range in.Children {
		created := c.Object.GetCreationTimestamp()
		n := treeNode{Group: c.Group, Version: c.Version, Kind: c.Kind, Namespace: c.Object.GetNamespace(), Name: c.Object.GetName(),
			UID: string(c.Object.GetUID()), ResourceVersion: c.Object.GetResourceVersion(), Health: c.Health, CreatedAt: &created}
		for _, ref := range c.Object.GetOwnerReferences() {
			if parent, ok := byUID[string(ref.UID)]; ok {
				n.ParentRefs = append(n.ParentRefs, parent)
			}
		}
		nodes = append(nodes, n)
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	writeJSON(w, http.StatusOK, map[string]any{"nodes": nodes})
}

// applicationEvents is GET /api/v1/applications/{name}/events: the
// Kubernetes events of the app itself, newest last.
func (s *Server) applicationEvents(w http.ResponseWriter, r *http.Request) {
	app, ok := s.readApplication(w, r, actGet)
	if !ok {
		return
	}
	s.writeEventsOf(w, r, app)
}

func copyOf(o *unstructured.Unstructured) *unstructured.Unstructured {
	if o == nil {
		return nil
	}
	return o.DeepCopy()
}

func jsonOf(o *unstructured.Unstructured) string {
	if o == nil {
		return ""
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return ""
	}
	return string(data)
}

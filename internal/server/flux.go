package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/health"
	"github.com/tether-gitops/tether/internal/server/rbac"
)

// fluxKind is a Flux kind served under /api/v1/flux/{kind}: the path
// segment, its stored version and the RBAC resource that guards it (the
// object being "<namespace>/<name>").
type fluxKind struct {
	gvk      schema.GroupVersionKind
	resource string
}

// fluxKinds are the Flux kinds the API serves, by path segment.
var fluxKinds = map[string]fluxKind{
	"kustomizations":   {kustomizev1.GroupVersion.WithKind("Kustomization"), "kustomizations"},
	"helmreleases":     {helmv2.GroupVersion.WithKind("HelmRelease"), "helmreleases"},
	"gitrepositories":  {sourcev1.GroupVersion.WithKind("GitRepository"), "sources"},
	"helmrepositories": {sourcev1.GroupVersion.WithKind("HelmRepository"), "sources"},
	"helmcharts":       {sourcev1.GroupVersion.WithKind("HelmChart"), "sources"},
	"ocirepositories":  {sourcev1.GroupVersion.WithKind("OCIRepository"), "sources"},
	"buckets":          {sourcev1.GroupVersion.WithKind("Bucket"), "sources"},
}

// Annotation Flux's CLI sets to ask for a reconcile now.
const requestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"

// fluxKindOf reads {kind} of the path; it has answered when ok is false.
func fluxKindOf(w http.ResponseWriter, r *http.Request) (fluxKind, bool) {
	k, ok := fluxKinds[r.PathValue("kind")]
	if !ok {
		names := make([]string, 0, len(fluxKinds))
		for n := range fluxKinds {
			names = append(names, n)
		}
		sort.Strings(names)
		writeError(w, codeNotFound, "unknown kind "+r.PathValue("kind")+": use one of "+strings.Join(names, ", "))
	}
	return k, ok
}

// newList makes an empty typed list of k.
func (s *Server) newList(k fluxKind) (client.ObjectList, error) {
	o, err := s.deps.Client.Scheme().New(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	if err != nil {
		return nil, err
	}
	return o.(client.ObjectList), nil
}

func (s *Server) newObject(k fluxKind) (client.Object, error) {
	o, err := s.deps.Client.Scheme().New(k.gvk)
	if err != nil {
		return nil, err
	}
	return o.(client.Object), nil
}

// listFlux is GET /api/v1/flux/{kind}: the objects of a kind the caller
// may read, narrowed by namespace, selector and search, sorted by
// namespace and name.
func (s *Server) listFlux(w http.ResponseWriter, r *http.Request) {
	k, ok := fluxKindOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	sel := labels.Everything()
	if v := q.Get("selector"); v != "" {
		parsed, err := labels.Parse(v)
		if err != nil {
			writeError(w, codeInvalidArgument, "selector: "+err.Error())
			return
		}
		sel = parsed
	}
	list, err := s.newList(k)
	if err != nil {
		s.internalError(w, err, "list "+k.gvk.Kind)
		return
	}
	opts := []client.ListOption{client.MatchingLabelsSelector{Selector: sel}}
	if ns := q.Get("namespace"); ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := s.deps.Client.List(r.Context(), list, opts...); err != nil {
		s.internalError(w, err, "list "+k.gvk.Kind)
		return
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	search := strings.ToLower(q.Get("search"))
	items := []runtime.Object{}
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		obj := o.(client.Object)
		if search != "" && !strings.Contains(strings.ToLower(obj.GetName()), search) {
			return nil
		}
		if allows(policy, r, k.resource, actGet, obj.GetNamespace()+"/"+obj.GetName()) {
			obj.SetManagedFields(nil)
			obj.GetObjectKind().SetGroupVersionKind(k.gvk)
			items = append(items, obj)
		}
		return nil
	})
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].(client.Object), items[j].(client.Object)
		return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
	})
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// readFlux reads {kind}/{namespace}/{name} if the caller may take action
// on it: 403 otherwise, whether it exists or not.
func (s *Server) readFlux(w http.ResponseWriter, r *http.Request, action string) (fluxKind, client.Object, bool) {
	k, ok := fluxKindOf(w, r)
	if !ok {
		return k, nil, false
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return k, nil, false
	}
	if !allows(policy, r, k.resource, action, ns+"/"+name) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return k, nil, false
	}
	obj, err := s.newObject(k)
	if err != nil {
		s.internalError(w, err, "read "+k.gvk.Kind)
		return k, nil, false
	}
	if err := s.deps.Client.Get(r.Context(), keyOf(ns, name), obj); apierrors.IsNotFound(err) {
		writeError(w, codeNotFound, fmt.Sprintf("%s %s/%s not found", k.gvk.Kind, ns, name))
		return k, nil, false
	} else if err != nil {
		s.internalError(w, err, "read "+k.gvk.Kind)
		return k, nil, false
	}
	obj.SetManagedFields(nil)
	obj.GetObjectKind().SetGroupVersionKind(k.gvk)
	return k, obj, true
}

func (s *Server) getFlux(w http.ResponseWriter, r *http.Request) {
	if _, obj, ok := s.readFlux(w, r, actGet); ok {
		writeJSON(w, http.StatusOK, obj)
	}
}

// fluxEvents is GET /api/v1/flux/{kind}/{namespace}/{name}/events.
func (s *Server) fluxEvents(w http.ResponseWriter, r *http.Request) {
	_, obj, ok := s.readFlux(w, r, actGet)
	if !ok {
		return
	}
	s.writeEventsOf(w, r, obj)
}

// writeEventsOf answers the Kubernetes events of obj, oldest first.
func (s *Server) writeEventsOf(w http.ResponseWriter, r *http.Request, obj client.Object) {
	var events corev1.EventList
	if err := s.deps.APIReader.List(r.Context(), &events, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{"involvedObject.uid": string(obj.GetUID())}); err != nil {
		s.internalError(w, err, "list events")
		return
	}
	sort.SliceStable(events.Items, func(i, j int) bool {
		return events.Items[i].LastTimestamp.Before(&events.Items[j].LastTimestamp)
	})
	for i := range events.Items {
		events.Items[i].ManagedFields = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": events.ListMeta, "items": events.Items})
}

// Bounds of a Flux object's tree: how deep nested Kustomizations and
// HelmReleases are expanded, and how many objects are read for health.
const (
	fluxTreeDepth   = 4
	fluxTreeObjects = 500
)

// fluxTree is GET /api/v1/flux/{kind}/{namespace}/{name}/tree: what a
// Kustomization (its inventory) or HelmRelease (the objects its release
// manages) is made of, as nodes of the resource tree. Nested
// Kustomizations and HelmReleases the caller may read are expanded, their
// objects naming them as parent; each object's health is read from the
// cluster (objects of a remote cluster, through kubeConfig, are shown
// without it).
func (s *Server) fluxTree(w http.ResponseWriter, r *http.Request) {
	t, obj, ok := s.newTreeWalk(w, r)
	if !ok {
		return
	}
	t.walk(obj, nil, 1)
	writeJSON(w, http.StatusOK, map[string]any{"nodes": t.nodes})
}

// newTreeWalk reads the request's Flux object (get rights) and starts a
// walk of its tree; it has answered when ok is false.
func (s *Server) newTreeWalk(w http.ResponseWriter, r *http.Request) (*fluxTreeWalk, client.Object, bool) {
	_, obj, ok := s.readFlux(w, r, actGet)
	if !ok {
		return nil, nil, false
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return nil, nil, false
	}
	return &fluxTreeWalk{s: s, r: r, policy: policy, nodes: []treeNode{}, seen: map[string]bool{}}, obj, true
}

// fluxTreeWalk gathers the nodes of one tree.
type fluxTreeWalk struct {
	s      *Server
	r      *http.Request
	policy *rbac.Policy
	nodes  []treeNode
	seen   map[string]bool
	reads  int
}

// walk adds the objects of obj's inventory, under parent.
func (t *fluxTreeWalk) walk(obj client.Object, parent *treeRef, depth int) {
	remote := remoteOf(obj)
	for _, e := range inventoryOf(obj) {
		m, err := e.ObjMetadata()
		if err != nil || t.seen[e.ID] {
			continue
		}
		t.seen[e.ID] = true
		n := treeNode{Group: m.GroupKind.Group, Version: e.Version, Kind: m.GroupKind.Kind, Namespace: m.Namespace, Name: m.Name}
		if parent != nil {
			n.ParentRefs = []treeRef{*parent}
		}
		var live *unstructured.Unstructured
		if !remote && t.reads < fluxTreeObjects {
			t.reads++
			live = &unstructured.Unstructured{}
			live.SetGroupVersionKind(schema.GroupVersionKind{Group: m.GroupKind.Group, Version: e.Version, Kind: m.GroupKind.Kind})
			err := t.s.deps.APIReader.Get(t.r.Context(), keyOf(m.Namespace, m.Name), live)
			switch {
			case apierrors.IsNotFound(err):
				n.Health = &argov1.HealthStatus{Status: argov1.HealthStatusMissing}
				live = nil
			case err != nil:
				live = nil
			default:
				n.UID = string(live.GetUID())
				created := live.GetCreationTimestamp()
				n.CreatedAt = &created
				if res, err := health.Assess(live); err == nil && res != nil {
					n.Health = &argov1.HealthStatus{Status: argov1.HealthStatusCode(res.Status), Message: res.Message}
				}
			}
		}
		t.nodes = append(t.nodes, n)
		nested, ok := t.nested(m.GroupKind, m.Namespace, m.Name, live)
		if ok && depth < fluxTreeDepth {
			t.walk(nested, &treeRef{Group: n.Group, Kind: n.Kind, Namespace: n.Namespace, Name: n.Name, UID: n.UID}, depth+1)
		}
	}
}

// fluxResource is GET /api/v1/flux/{kind}/{namespace}/{name}/resource
// with group, version, kind, namespace and name as parameters: the live
// state of one object of the Kustomization's or HelmRelease's tree (its
// inventory, or that of a nested one the caller may read), as Argo CD's
// application resource endpoint answers, Secrets masked. Objects outside
// the tree are refused, whatever they are.
func (s *Server) fluxResource(w http.ResponseWriter, r *http.Request) {
	t, obj, ok := s.newTreeWalk(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	gk := schema.GroupKind{Group: q.Get("group"), Kind: q.Get("kind")}
	id := engine.ID(gk, q.Get("namespace"), q.Get("name"))
	version, owner := t.find(obj, id, 1)
	switch {
	case owner == nil:
		writeError(w, codeNotFound, fmt.Sprintf("%s %s/%s is not part of %s %s/%s", gk.Kind, q.Get("namespace"), q.Get("name"),
			obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName()))
		return
	case remoteOf(owner):
		writeError(w, codeFailedPrecondition, "the object is in a remote cluster (kubeConfig): its live state is not read here")
		return
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gk.WithVersion(version))
	if err := s.deps.APIReader.Get(r.Context(), keyOf(q.Get("namespace"), q.Get("name")), live); apierrors.IsNotFound(err) {
		writeError(w, codeNotFound, fmt.Sprintf("%s %s/%s is not in the cluster", gk.Kind, q.Get("namespace"), q.Get("name")))
		return
	} else if err != nil {
		s.writeKubeError(w, err, "read")
		return
	}
	live.SetManagedFields(nil)
	maskSecrets(live)
	writeJSON(w, http.StatusOK, live.Object)
}

// find looks for the object id in obj's inventory and in those of the
// nested Kustomizations and HelmReleases the caller may read; it returns
// the entry's version and the object whose inventory holds it (nil when
// none does).
func (t *fluxTreeWalk) find(obj client.Object, id string, depth int) (string, client.Object) {
	entries := inventoryOf(obj)
	for _, e := range entries {
		if e.ID == id {
			return e.Version, obj
		}
	}
	if depth >= fluxTreeDepth {
		return "", nil
	}
	for _, e := range entries {
		m, err := e.ObjMetadata()
		if err != nil || t.seen[e.ID] {
			continue
		}
		t.seen[e.ID] = true
		if nested, ok := t.nested(m.GroupKind, m.Namespace, m.Name, &unstructured.Unstructured{}); ok {
			if v, owner := t.find(nested, id, depth+1); owner != nil {
				return v, owner
			}
		}
	}
	return "", nil
}

// remoteOf reports whether a Flux object applies to a remote cluster.
func remoteOf(obj client.Object) bool {
	switch o := obj.(type) {
	case *kustomizev1.Kustomization:
		return o.Spec.KubeConfig != nil
	case *helmv2.HelmRelease:
		return o.Spec.KubeConfig != nil
	}
	return false
}

// nested is a Kustomization or HelmRelease of the inventory that the
// caller may read, typed, so that its own inventory is walked.
func (t *fluxTreeWalk) nested(gk schema.GroupKind, namespace, name string, live *unstructured.Unstructured) (client.Object, bool) {
	for _, k := range fluxKinds {
		if k.gvk.GroupKind() != gk || (k.resource != "kustomizations" && k.resource != "helmreleases") || live == nil {
			continue
		}
		if !t.policy.Allow(subject(caller(t.r.Context())), k.resource, actGet, namespace+"/"+name) {
			return nil, false
		}
		obj, err := t.s.newObject(k)
		if err != nil || t.s.deps.Client.Get(t.r.Context(), keyOf(namespace, name), obj) != nil {
			return nil, false
		}
		return obj, true
	}
	return nil, false
}

// inventoryOf reads status.inventory.entries, which Kustomizations and
// HelmReleases both keep; none for other kinds.
func inventoryOf(obj client.Object) []engine.Entry {
	var status struct {
		Status struct {
			Inventory *struct {
				Entries []struct {
					ID      string `json:"id"`
					Version string `json:"v"`
				} `json:"entries"`
			} `json:"inventory"`
		} `json:"status"`
	}
	data, err := json.Marshal(obj)
	if err != nil || json.Unmarshal(data, &status) != nil || status.Status.Inventory == nil {
		return nil
	}
	out := make([]engine.Entry, 0, len(status.Status.Inventory.Entries))
	for _, e := range status.Status.Inventory.Entries {
		out = append(out, engine.Entry{ID: e.ID, Version: e.Version})
	}
	return out
}

// fluxAction is POST /api/v1/flux/{kind}/{namespace}/{name}/{action}:
// reconcile (sync rights) asks for a reconcile now as `flux reconcile`
// does; suspend and resume (update rights) set spec.suspend.
func (s *Server) fluxAction(w http.ResponseWriter, r *http.Request) {
	var patch string
	action := actUpdate
	switch r.PathValue("action") {
	case "reconcile":
		action = actSync
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, requestedAtAnnotation, time.Now().Format(time.RFC3339Nano))
	case "suspend":
		patch = `{"spec":{"suspend":true}}`
	case "resume":
		patch = fmt.Sprintf(`{"spec":{"suspend":false},"metadata":{"annotations":{%q:%q}}}`, requestedAtAnnotation, time.Now().Format(time.RFC3339Nano))
	default:
		writeError(w, codeNotFound, "unknown action "+r.PathValue("action")+": use reconcile, suspend or resume")
		return
	}
	_, obj, ok := s.readFlux(w, r, action)
	if !ok {
		return
	}
	if err := s.deps.Client.Patch(r.Context(), obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		s.writeKubeError(w, err, r.PathValue("action"))
		return
	}
	obj.SetManagedFields(nil)
	writeJSON(w, http.StatusOK, obj)
}

package engine

import (
	"errors"
	"fmt"
	"maps"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa/normalize"
	"github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Input is one desired object.
type Input struct {
	// Obj is the object as rendered. The engine works on a copy.
	Obj *unstructured.Unstructured
	// Source is the file the object came from, named in errors.
	Source string
	// Replace writes the object with create or update (kubectl replace)
	// instead of server-side apply: Argo CD's Replace=true and
	// Validate=false.
	Replace bool
	// Lenient drops unknown fields instead of refusing them (field
	// validation "Ignore"): Argo CD's Validate=false.
	Lenient bool
}

// item is one object of a plan, ready to apply.
type item struct {
	obj    *unstructured.Unstructured
	source string
	id     object.ObjMetadata
	// validated is set by diff when the dry run already accepted the
	// object as it will be written (a new object, or one an earlier
	// Compare predicted): Apply writes it with one request.
	validated bool
	// replace and lenient come from Input.
	replace, lenient bool
	// live is the object read by diff, for an update by replace.
	live *unstructured.Unstructured
	// sum caches digest.
	sum string
}

func (it *item) subject() string { return utils.FmtObjMetadata(it.id) }

func (it *item) change(a Action) Change {
	return Change{ID: it.id.String(), Version: it.obj.GroupVersionKind().Version, Subject: it.subject(), Action: a, Source: it.source}
}

// definedKind is a kind that a CustomResourceDefinition of the plan defines.
type definedKind struct {
	versions   map[string]bool
	namespaced bool
}

// plan is a validated, ordered set of objects of one owner.
type plan struct {
	items []*item // in apply order
	byID  map[object.ObjMetadata]*item
	// namespaces and kinds are created by the plan itself: a dry run of an
	// object in one of them cannot succeed before the plan is applied.
	namespaces map[string]bool
	kinds      map[schema.GroupKind]definedKind
	secrets    redactor
}

// plan copies the inputs, normalizes them, sets the owner's labels and
// the default namespace, and orders them for apply. It fails, naming every
// offending input, on objects without kind or name, unknown kinds,
// namespaced objects with no namespace, and duplicates.
func (e *Engine) plan(inputs []Input, opts ApplyOptions) (*plan, error) {
	p := &plan{byID: map[object.ObjMetadata]*item{}, namespaces: map[string]bool{}, kinds: map[schema.GroupKind]definedKind{}}
	for _, ns := range opts.Namespaces {
		p.namespaces[ns] = true
	}
	var errs []error
	objs := make([]*unstructured.Unstructured, 0, len(inputs))
	index := map[*unstructured.Unstructured]int{} // object -> its input
	for i, in := range inputs {
		src := in.Source
		if src == "" {
			src = fmt.Sprintf("object %d", i+1)
		}
		u, err := prepare(in.Obj)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
			continue
		}
		objs = append(objs, u)
		index[u] = i
		p.learn(u)
	}
	for _, u := range objs {
		if err := e.scope(p, u, opts.DefaultNamespace); err != nil {
			errs = append(errs, &ObjectError{Source: inputs[index[u]].Source, Subject: utils.FmtUnstructured(u), Err: err})
			continue
		}
		if opts.Mark != nil {
			opts.Mark(u)
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, e.owner.Labels)
		u.SetLabels(labels)
		in := inputs[index[u]]
		it := &item{obj: u, source: in.Source, id: object.UnstructuredToObjMetadata(u), replace: in.Replace, lenient: in.Lenient}
		if prev, dup := p.byID[it.id]; dup {
			errs = append(errs, &ObjectError{Source: it.source, Subject: it.subject(),
				Err: fmt.Errorf("duplicate: %s declares the same object; remove one", orUnknown(prev.source))})
			continue
		}
		p.byID[it.id] = it
	}
	if err := errors.Join(errs...); err != nil {
		return nil, p.secrets.redactError(err)
	}
	byObj := map[*unstructured.Unstructured]*item{}
	for _, it := range p.byID {
		byObj[it.obj] = it
	}
	for _, u := range sortedForApply(objs) {
		if it, ok := byObj[u]; ok {
			p.items = append(p.items, it)
		}
	}
	return p, nil
}

// prepare returns a normalized copy of obj.
func prepare(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if obj == nil {
		return nil, errors.New("no object")
	}
	u := obj.DeepCopy()
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		return nil, fmt.Errorf("object %q has no apiVersion or kind", u.GetName())
	}
	if u.GetName() == "" {
		return nil, fmt.Errorf("%s has no metadata.name", u.GetKind())
	}
	for _, field := range []string{"labels", "annotations"} {
		if _, _, err := unstructured.NestedStringMap(u.Object, "metadata", field); err != nil {
			return nil, fmt.Errorf("%s %s: metadata.%s must be a map of strings", u.GetKind(), u.GetName(), field)
		}
	}
	if utils.IsSecret(u) {
		// stringData is folded into data, or every apply would look like
		// drift (kubernetes/kubernetes#108008).
		if err := normalize.Unstructured(u); err != nil {
			return nil, fmt.Errorf("Secret %s: %w", u.GetName(), err)
		}
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(u.Object, "metadata", "uid")
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	if !utils.IsCRD(u) {
		unstructured.RemoveNestedField(u.Object, "status")
	}
	return u, nil
}

// learn records the Namespaces, CRD kinds and Secret values of the plan.
func (p *plan) learn(u *unstructured.Unstructured) {
	switch {
	case utils.IsNamespace(u):
		p.namespaces[u.GetName()] = true
	case utils.IsCRD(u):
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
		d := definedKind{versions: map[string]bool{}, namespaced: scope != "Cluster"}
		for _, v := range versions {
			if m, ok := v.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					d.versions[name] = true
				}
			}
		}
		p.kinds[schema.GroupKind{Group: group, Kind: kind}] = d
	case utils.IsSecret(u):
		p.secrets = p.secrets.with(u)
	}
}

// scope sets the default namespace on namespaced objects that lack one and
// clears the namespace of cluster-scoped objects.
func (e *Engine) scope(p *plan, u *unstructured.Unstructured, defaultNamespace string) error {
	namespaced, err := e.namespaced(p, u.GroupVersionKind())
	if err != nil {
		return err
	}
	switch {
	case !namespaced:
		u.SetNamespace("")
	case u.GetNamespace() == "" && defaultNamespace == "":
		return errors.New("namespaced object without metadata.namespace, and no default namespace")
	case u.GetNamespace() == "":
		u.SetNamespace(defaultNamespace)
	}
	return nil
}

// namespaced asks the REST mapper, then the plan's own CRDs.
func (e *Engine) namespaced(p *plan, gvk schema.GroupVersionKind) (bool, error) {
	m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil {
		return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
	}
	if meta.IsNoMatchError(err) {
		if d, ok := p.kinds[gvk.GroupKind()]; ok && d.versions[gvk.Version] {
			return d.namespaced, nil
		}
		return false, fmt.Errorf("no kind %s in %s on the server and no CustomResourceDefinition for it in this set: install its CRD first", gvk.Kind, gvk.GroupVersion())
	}
	return false, fmt.Errorf("look up kind %s: %w", gvk, err)
}

// createdByPlan reports whether err, from a dry run of it, only says that
// it.obj's Namespace or kind does not exist yet while the plan itself
// creates that Namespace or CRD (with that version).
func (p *plan) createdByPlan(it *item, err error) bool {
	gvk := it.obj.GroupVersionKind()
	if meta.IsNoMatchError(err) {
		d, ok := p.kinds[gvk.GroupKind()]
		return ok && d.versions[gvk.Version]
	}
	ns := it.obj.GetNamespace()
	if ns == "" || !p.namespaces[ns] || !apierrors.IsNotFound(err) {
		return false
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	d := st.Status().Details
	return d != nil && d.Kind == "namespaces" && d.Name == ns
}

// inventory lists the plan's objects in apply order.
func (p *plan) inventory() Inventory {
	inv := make(Inventory, 0, len(p.items))
	for _, it := range p.items {
		inv = append(inv, EntryOf(it.obj))
	}
	return inv
}

func orUnknown(source string) string {
	if source == "" {
		return "another input"
	}
	return source
}

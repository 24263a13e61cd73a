package engine

import (
	"fmt"
	"sort"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Entry records one applied object in exactly the form of Flux's
// status.inventory entries.
type Entry struct {
	// ID is "<namespace>_<name>_<group>_<kind>" (empty namespace for
	// cluster-scoped objects and empty group for the core group; colons in
	// RBAC names written as "__").
	ID string
	// Version is the API version the object was applied with, e.g. "v1".
	Version string
}

// Inventory is the set of objects an owner has applied, in apply order.
type Inventory []Entry

// ID is the one identity every dialect gives an object: Flux's inventory
// form "<namespace>_<name>_<group>_<kind>", with an empty namespace for
// cluster-scoped objects, an empty group for the core group, and each
// colon of a name (RBAC names such as "system:auth-delegator") written as
// "__" so that the id parses back. Build ids only with ID or EntryOf:
// an id built by hand differs from the engine's for such names.
func ID(gk schema.GroupKind, namespace, name string) string {
	return object.ObjMetadata{Namespace: namespace, Name: name, GroupKind: gk}.String()
}

// EntryOf returns obj's inventory entry.
func EntryOf(obj *unstructured.Unstructured) Entry {
	gvk := obj.GroupVersionKind()
	return Entry{ID: ID(gvk.GroupKind(), obj.GetNamespace(), obj.GetName()), Version: gvk.Version}
}

// InventoryOf returns the inventory of objs in the order Apply applies
// them (see Apply), without duplicates.
func InventoryOf(objs []*unstructured.Unstructured) Inventory {
	sorted := sortedForApply(objs)
	inv := make(Inventory, 0, len(sorted))
	seen := map[string]bool{}
	for _, o := range sorted {
		e := EntryOf(o)
		if !seen[e.ID] {
			seen[e.ID] = true
			inv = append(inv, e)
		}
	}
	return inv
}

// ObjMetadata parses the entry's ID.
func (e Entry) ObjMetadata() (object.ObjMetadata, error) {
	m, err := object.ParseObjMetadata(e.ID)
	if err != nil {
		return m, fmt.Errorf("inventory entry %q: %w", e.ID, err)
	}
	if m.Name == "" || m.GroupKind.Kind == "" {
		return m, fmt.Errorf("inventory entry %q: no name or kind", e.ID)
	}
	return m, nil
}

// GroupVersionKind is the entry's group, version and kind.
func (e Entry) GroupVersionKind() (schema.GroupVersionKind, error) {
	m, err := e.ObjMetadata()
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return m.GroupKind.WithVersion(e.Version), nil
}

// Ref is the entry as an object reference.
func (e Entry) Ref() (ObjectRef, error) {
	m, err := e.ObjMetadata()
	if err != nil {
		return ObjectRef{}, err
	}
	gv := schema.GroupVersion{Group: m.GroupKind.Group, Version: e.Version}
	return ObjectRef{APIVersion: gv.String(), Kind: m.GroupKind.Kind, Namespace: m.Namespace, Name: m.Name}, nil
}

// Refs returns a reference for every entry, in order. Entries whose ID
// does not parse are left out: Validate reports them.
func (inv Inventory) Refs() []ObjectRef {
	refs := make([]ObjectRef, 0, len(inv))
	for _, e := range inv {
		if r, err := e.Ref(); err == nil {
			refs = append(refs, r)
		}
	}
	return refs
}

// Validate returns an error naming the first entry whose ID does not parse.
func (inv Inventory) Validate() error {
	for _, e := range inv {
		if _, err := e.ObjMetadata(); err != nil {
			return err
		}
	}
	return nil
}

// Contains reports whether inv has an entry for the object m; versions
// are not compared.
func (inv Inventory) Contains(m object.ObjMetadata) bool {
	for _, e := range inv {
		if o, err := e.ObjMetadata(); err == nil && o == m {
			return true
		}
	}
	return false
}

// Diff returns the entries of inv whose objects other lacks, in delete
// order: the reverse of apply order, so that namespaced objects go before
// their Namespaces and custom resources before their definitions.
// Versions are not compared.
func (inv Inventory) Diff(other Inventory) (Inventory, error) {
	keep := map[object.ObjMetadata]bool{}
	for _, e := range other {
		m, err := e.ObjMetadata()
		if err != nil {
			return nil, err
		}
		keep[m] = true
	}
	var objs []*unstructured.Unstructured
	for _, e := range inv {
		m, err := e.ObjMetadata()
		if err != nil {
			return nil, err
		}
		if !keep[m] {
			keep[m] = true // drop duplicates
			objs = append(objs, stub(m, e.Version))
		}
	}
	sorted := sortedForApply(objs)
	out := make(Inventory, 0, len(sorted))
	for i := len(sorted) - 1; i >= 0; i-- {
		out = append(out, EntryOf(sorted[i]))
	}
	return out, nil
}

// stub is an object with only the identity of m.
func stub(m object.ObjMetadata, version string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(m.GroupKind.WithVersion(version))
	u.SetNamespace(m.Namespace)
	u.SetName(m.Name)
	return u
}

// Apply order is the order of fluxcd/pkg/ssa's ApplyAllStaged, so that
// inventories and change sets read exactly as Flux's: CRDs, Namespaces
// and ClusterRoles first, then kinds ending in "Class", then everything
// else; inside a stage, ssa's kind order (ServiceAccounts and ConfigMaps
// before Deployments, webhooks last), then namespace and name.
const (
	stageDefinitions = iota
	stageClasses
	stageRest
)

func stageOf(u *unstructured.Unstructured) int {
	switch {
	case utils.IsClusterDefinition(u):
		return stageDefinitions
	case utils.IsClassDefinition(u):
		return stageClasses
	}
	return stageRest
}

// sortedForApply returns objs in apply order; objs is not modified.
func sortedForApply(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	stages := make([][]*unstructured.Unstructured, stageRest+1)
	for _, o := range objs {
		s := stageOf(o)
		stages[s] = append(stages[s], o)
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, s := range stages {
		sort.Stable(ssa.SortableUnstructureds(s))
		out = append(out, s...)
	}
	return out
}

// ObjectRef names one object, e.g. for a health check.
type ObjectRef struct {
	// APIVersion is "<group>/<version>", or "<version>" for the core group.
	APIVersion string
	// Kind is the object's kind, e.g. "Deployment".
	Kind string
	// Namespace is empty for cluster-scoped objects.
	Namespace string
	// Name is the object's name.
	Name string
}

// String is "<Kind>/<namespace>/<name>", or "<Kind>/<name>".
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// objMetadata is r's identity; the version is left out.
func (r ObjectRef) objMetadata() (object.ObjMetadata, error) {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return object.ObjMetadata{}, fmt.Errorf("%s: apiVersion %q: %w", r, r.APIVersion, err)
	}
	if r.Kind == "" || r.Name == "" {
		return object.ObjMetadata{}, fmt.Errorf("object reference %q has no kind or name", r)
	}
	return object.ObjMetadata{Namespace: r.Namespace, Name: r.Name, GroupKind: schema.GroupKind{Group: gv.Group, Kind: r.Kind}}, nil
}

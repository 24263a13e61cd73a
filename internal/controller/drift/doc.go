// Package drift watches the objects that controllers applied and wakes the
// owner when someone else changes or deletes one. Watches are
// metadata-only (a PartialObjectMetadata informer per kind), so they cost
// little memory, and are started lazily, one per kind an owner uses.
//
//	w, err := drift.New(mgr, ctrl, drift.Options{
//		Selector: ownedSelector,                 // optional label filter
//		Owner:    func(o client.Object) (types.NamespacedName, bool) { ... },
//		OnEvent:  func(key types.NamespacedName, spec bool) { ... },
//	})
//	_ = w.Ensure(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"})
package drift

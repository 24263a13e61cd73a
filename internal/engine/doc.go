// Package engine applies one owner's set of Kubernetes objects: the plan,
// diff, apply, prune and health steps of Tether's pipeline. It is built on
// fluxcd/pkg/ssa (server-side apply, dry-run diff, staged apply) and
// kstatus, and knows nothing of Flux's or Argo CD's API types: a
// controller turns its object into an Owner, Inputs and options, and the
// Result, Changes and errors back into its own status.
//
//	eng, err := engine.New(c, engine.Owner{
//		Name: "apps", Namespace: "flux-system", FieldManager: "tether",
//		Labels: map[string]string{
//			"kustomize.toolkit.fluxcd.io/name":      "apps",
//			"kustomize.toolkit.fluxcd.io/namespace": "flux-system",
//		},
//	})
//	if err != nil {
//		return err
//	}
//	res, err := eng.Apply(ctx, inputs, engine.ApplyOptions{DefaultNamespace: "apps"})
//	if err != nil {
//		return err // "deploy.yaml: Deployment/apps/web: spec.replicas: Invalid value: -1: ..."; nothing written
//	}
//	if _, err := eng.Prune(ctx, oldInventory, res.Inventory, engine.PruneOptions{}); err != nil {
//		return err
//	}
//	return eng.Wait(ctx, res.Inventory.Refs(), 5*time.Minute)
//
// Apply validates every object with a server-side dry run before it
// writes anything, so one invalid or forbidden object stops the whole set
// (see Apply for the one exception: objects in a Namespace or of a CRD
// that the set itself creates). It writes only objects that differ from
// the cluster: applying an unchanged set makes no write request.
//
// Impersonation and remote clusters are the caller's: New takes the client
// to act with. Secret values never appear in errors or Changes.
//
// Inventories (Entry, Inventory) use Flux's status.inventory format, so a
// Kustomization's inventory is read and written as is.
package engine

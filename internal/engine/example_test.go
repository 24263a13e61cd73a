package engine_test

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/engine"
)

// Example applies a rendered set as a Flux Kustomization does: apply,
// prune what the previous revision had and this one lacks, wait for
// health.
func Example() {
	var (
		ctx    = context.Background()
		c      client.Client    // acting as the Kustomization's service account
		inputs []engine.Input   // rendered objects and their files
		old    engine.Inventory // the previous status.inventory
	)
	eng, err := engine.New(c, engine.Owner{
		Name: "apps", Namespace: "flux-system", FieldManager: "tether",
		Labels: map[string]string{
			"kustomize.toolkit.fluxcd.io/name":      "apps",
			"kustomize.toolkit.fluxcd.io/namespace": "flux-system",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := eng.Apply(ctx, inputs, engine.ApplyOptions{
		DefaultNamespace: "apps",
		Exclusions:       map[string]string{"kustomize.toolkit.fluxcd.io/reconcile": "disabled"},
	})
	if err != nil {
		fmt.Println(err) // every invalid or forbidden object, nothing written
		return
	}
	for _, c := range res.ChangeSet {
		if c.Action.Changed() {
			fmt.Println(c) // "Deployment/apps/web configured"
		}
	}
	if _, err := eng.Prune(ctx, old, res.Inventory, engine.PruneOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	if err := eng.Wait(ctx, res.Inventory.Refs(), 5*time.Minute); err != nil {
		fmt.Println(err) // "Deployment/apps/web: InProgress: Available: 0/2"
	}
}

package render

import (
	"bytes"
	"context"
	"path"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/semaphore"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// gate lets kustomize builds run side by side, so that one tenant's large
// build does not hold up everyone else's. Kustomize keeps its OpenAPI
// schema in process-wide state; a build whose source sets a schema of its
// own (a kustomization's openapi field) would change it under the others,
// so such a build runs alone, and the schema is put back to the default
// after it. Flux serialises every build for this reason.
type gate struct {
	size int64
	sem  *semaphore.Weighted
	warm sync.Once
}

func newGate(size int64) *gate {
	return &gate{size: size, sem: semaphore.NewWeighted(size)}
}

// buildGate is the process's gate: kustomize's schema is process-wide, so
// the gate must be too.
var buildGate = newGate(int64(max(2, runtime.GOMAXPROCS(0))))

// acquire waits for a turn: a shared one, or with alone every turn.
func (g *gate) acquire(ctx context.Context, alone bool) error {
	// Parse the default schema once before builds share it: kustomize
	// fills its tables on first use, and a build reading them while
	// another fills them is a data race.
	g.warm.Do(func() { openapi.Schema() })
	return g.sem.Acquire(ctx, g.weight(alone))
}

// release ends a turn. After a build that ran alone the schema goes back
// to the default, before anyone else builds.
func (g *gate) release(alone bool) {
	if alone {
		openapi.ResetOpenAPI()
		openapi.Schema()
	}
	g.sem.Release(g.weight(alone))
}

func (g *gate) weight(alone bool) int64 {
	if alone {
		return g.size
	}
	return 1
}

// setsSchema reports whether any kustomization file of t may set
// kustomize's OpenAPI schema (it mentions "openapi"; a false alarm only
// costs the build its company). Computed once per tree.
func (t *tree) setsSchema() bool {
	t.schemaOnce.Do(func() {
		names := konfig.RecognizedKustomizationFileNames()
		for _, f := range t.files {
			if slices.Contains(names, path.Base(f.path)) && bytes.Contains(bytes.ToLower(f.data), []byte("openapi")) {
				t.customSchema = true
				return
			}
		}
	})
	return t.customSchema
}

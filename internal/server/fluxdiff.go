package server

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/controller/kustomization"
	"github.com/tether-gitops/tether/internal/engine"
)

// KustomizationInspector renders a Kustomization's source revision and
// compares it with its cluster without writing anything; the
// Kustomization controller of `tether run` is one.
type KustomizationInspector interface {
	Inspect(ctx context.Context, obj *kustomizev1.Kustomization) (*kustomization.Inspection, error)
}

// fluxDiffItem is one object of a Flux object's diff: what applying
// would do to it, and its live and predicted states as JSON documents
// (as managed-resources gives them for an Application).
type fluxDiffItem struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version"`
	Kind               string `json:"kind"`
	Namespace          string `json:"namespace,omitempty"`
	Name               string `json:"name"`
	Action             string `json:"action"`
	LiveState          string `json:"liveState,omitempty"`
	PredictedLiveState string `json:"predictedLiveState,omitempty"`
}

// fluxDiff is GET /api/v1/flux/kustomizations/{namespace}/{name}/diff:
// what reconciling the Kustomization now would create, change ("configured",
// with both states) or delete, from a dry run against its cluster. Secret
// values are masked.
func (s *Server) fluxDiff(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("kind") != "kustomizations" {
		writeError(w, codeNotFound, "a diff is served for kustomizations only")
		return
	}
	if s.deps.Kustomizations == nil {
		writeError(w, codeUnavailable, "this server runs no Kustomization controller: run `tether run` to inspect Kustomizations")
		return
	}
	_, obj, ok := s.readFlux(w, r, actGet)
	if !ok {
		return
	}
	ks, ok := obj.(*kustomizev1.Kustomization)
	if !ok {
		s.internalError(w, nil, "read Kustomization")
		return
	}
	in, err := s.deps.Kustomizations.Inspect(r.Context(), ks)
	if err != nil {
		// Render and dry-run errors name files and objects; substituted
		// Secret values are masked by the inspection.
		writeError(w, codeUnavailable, err.Error())
		return
	}
	items := make([]fluxDiffItem, 0, len(in.Changes)+len(in.Deleted))
	for _, c := range in.Changes {
		ref, err := engine.Entry{ID: c.ID, Version: c.Version}.Ref()
		if err != nil {
			s.internalError(w, err, "inventory id")
			return
		}
		item := diffItemOf(ref, string(c.Action))
		live, predicted := copyOf(c.Live), copyOf(c.Desired)
		maskSecrets(live, predicted)
		for _, o := range []*unstructured.Unstructured{live, predicted} {
			if o != nil {
				o.SetManagedFields(nil)
			}
		}
		item.LiveState, item.PredictedLiveState = jsonOf(live), jsonOf(predicted)
		items = append(items, item)
	}
	for _, ref := range in.Deleted {
		items = append(items, diffItemOf(ref, string(engine.ActionDeleted)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": in.Revision, "items": items})
}

func diffItemOf(ref engine.ObjectRef, action string) fluxDiffItem {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	return fluxDiffItem{Group: gv.Group, Version: gv.Version, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, Action: action}
}

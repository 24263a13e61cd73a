package server

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/controller/helmrelease"
	"github.com/tether-gitops/tether/internal/controller/kustomization"
	"github.com/tether-gitops/tether/internal/engine"
)

// HelmReleaseInspector compares a HelmRelease's last release with its
// cluster without writing anything; the HelmRelease controller of
// `tether run` is one.
type HelmReleaseInspector interface {
	Inspect(ctx context.Context, obj *helmv2.HelmRelease) (*helmrelease.Inspection, error)
}

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

// fluxDiff is GET /api/v1/flux/{kind}/{namespace}/{name}/diff. For a
// Kustomization: what reconciling it now would create, change
// ("configured", with both states) or delete, from its source's revision
// and a dry run against its cluster. For a HelmRelease: its last
// release's objects beside the cluster (drift: "configured", missing:
// "created"). Secret values are masked.
func (s *Server) fluxDiff(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	switch {
	case kind != "kustomizations" && kind != "helmreleases":
		writeError(w, codeNotFound, "a diff is served for kustomizations and helmreleases")
		return
	case kind == "kustomizations" && s.deps.Kustomizations == nil, kind == "helmreleases" && s.deps.HelmReleases == nil:
		writeError(w, codeUnavailable, "this server runs no controller of "+kind+": run `tether run` to inspect them")
		return
	}
	_, obj, ok := s.readFlux(w, r, actGet)
	if !ok {
		return
	}
	var revision string
	var changes []engine.Change
	var states []helmrelease.ObjectState
	var deleted []engine.ObjectRef
	var err error
	switch o := obj.(type) {
	case *kustomizev1.Kustomization:
		var in *kustomization.Inspection
		if in, err = s.deps.Kustomizations.Inspect(r.Context(), o); err == nil {
			revision, changes, deleted = in.Revision, in.Changes, in.Deleted
		}
	case *helmv2.HelmRelease:
		var in *helmrelease.Inspection
		if in, err = s.deps.HelmReleases.Inspect(r.Context(), o); err == nil {
			revision, states = in.Release, in.Objects
		}
	}
	if err != nil {
		// Render and dry-run errors name files and objects; substituted
		// Secret values are masked by the inspection.
		writeError(w, codeUnavailable, err.Error())
		return
	}
	items := make([]fluxDiffItem, 0, len(changes)+len(states)+len(deleted))
	add := func(c engine.Change, live, predicted *unstructured.Unstructured) error {
		ref, err := engine.Entry{ID: c.ID, Version: c.Version}.Ref()
		if err != nil {
			return err
		}
		item := diffItemOf(ref, string(c.Action))
		if c.Action == engine.ActionConfigured {
			live, predicted = copyOf(live), copyOf(predicted)
			maskSecrets(live, predicted)
			for _, o := range []*unstructured.Unstructured{live, predicted} {
				if o != nil {
					o.SetManagedFields(nil)
				}
			}
			item.LiveState, item.PredictedLiveState = jsonOf(live), jsonOf(predicted)
		}
		items = append(items, item)
		return nil
	}
	for _, c := range changes {
		if err == nil {
			err = add(c, c.Live, c.Desired)
		}
	}
	for _, st := range states {
		if err == nil {
			err = add(st.Change, st.Live, st.Predicted)
		}
	}
	if err != nil {
		s.internalError(w, err, "inventory id")
		return
	}
	for _, ref := range deleted {
		items = append(items, diffItemOf(ref, string(engine.ActionDeleted)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": revision, "items": items})
}

func diffItemOf(ref engine.ObjectRef, action string) fluxDiffItem {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	return fluxDiffItem{Group: gv.Group, Version: gv.Version, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, Action: action}
}

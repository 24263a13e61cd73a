package helmrelease

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/helm"
)

// drift is the outcome of comparing a release's manifest with the cluster.
type drift struct {
	// objects are the drifted objects as they should be, with the fields
	// that spec.driftDetection.ignore names left out.
	objects []engine.Input
	changed []string // "<Kind>/<namespace>/<name> removed|changed"
}

// releaseObjects are the objects of a release's manifest as Helm applied
// them: with Helm's ownership label and annotations, in the release
// namespace unless they name one. Objects that opt out of drift detection
// are left out.
func releaseObjects(rel *helm.Release) ([]engine.Input, error) {
	objs, err := decodeManifest([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("manifest of release %s/%s.v%d: %w", rel.Namespace, rel.Name, rel.Version, err)
	}
	inputs := make([]engine.Input, 0, len(objs))
	for _, o := range objs {
		if o.GetLabels()[helmv2.DriftDetectionMetadataKey] == helmv2.DriftDetectionDisabledValue ||
			o.GetAnnotations()[helmv2.DriftDetectionMetadataKey] == helmv2.DriftDetectionDisabledValue {
			continue
		}
		o.SetLabels(merged(o.GetLabels(), map[string]string{"app.kubernetes.io/managed-by": "Helm"}))
		o.SetAnnotations(merged(o.GetAnnotations(), map[string]string{
			"meta.helm.sh/release-name":      rel.Name,
			"meta.helm.sh/release-namespace": rel.Namespace,
		}))
		inputs = append(inputs, engine.Input{Obj: o, Source: "release " + rel.Name + " manifest"})
	}
	return inputs, nil
}

// ObjectState is one object of a release's manifest beside the cluster,
// with the fields spec.driftDetection.ignore names left out of both.
type ObjectState struct {
	engine.Change
	// Live and Predicted are the cluster's object and the dry run's;
	// Live is nil when the object is missing.
	Live, Predicted *unstructured.Unstructured
	// desired is the object as it should be, for a correction.
	desired *unstructured.Unstructured
}

// releaseStates compares the release's objects with the cluster by
// server-side dry run: Action is ActionCreated for a missing object,
// ActionConfigured for a drifted one and ActionUnchanged otherwise.
func releaseStates(ctx context.Context, obj *helmv2.HelmRelease, tgt *target, rel *helm.Release) ([]ObjectState, error) {
	inputs, err := releaseObjects(rel)
	if err != nil {
		return nil, err
	}
	eng, err := tgt.engine(obj)
	if err != nil {
		return nil, err
	}
	comps, err := eng.Compare(ctx, inputs, engine.ApplyOptions{DefaultNamespace: rel.Namespace})
	if err != nil {
		return nil, fmt.Errorf("compare release %s/%s with the cluster: %w", rel.Namespace, rel.Name, err)
	}
	norm, err := diff.New(ignoreRules(obj.GetDriftDetection().Ignore))
	if err != nil {
		return nil, fmt.Errorf("spec.driftDetection.ignore: %w", err)
	}
	out := make([]ObjectState, 0, len(comps))
	for _, c := range comps {
		if c.Err != nil {
			return nil, c.Err
		}
		st := ObjectState{Change: c.Change, desired: c.Desired.DeepCopy()}
		st.Action = engine.ActionUnchanged
		switch {
		case c.Live != nil && c.Predicted == nil:
		case c.Live != nil:
			st.Live, st.Predicted = c.Live.DeepCopy(), c.Predicted.DeepCopy()
			if err := norm.Normalize(st.Live, st.Predicted); err != nil {
				return nil, err
			}
			if !diff.Equal(st.Live, st.Predicted) {
				st.Action = engine.ActionConfigured
			}
		default:
			st.Action = engine.ActionCreated
		}
		// What is ignored is not applied either, so that correcting drift
		// never resets a field the user said another party owns.
		if err := norm.Normalize(nil, st.desired); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// compareRelease finds the release's drifted and missing objects.
func (r *Reconciler) compareRelease(ctx context.Context, req *request, rel *helm.Release) (*drift, error) {
	states, err := releaseStates(ctx, req.obj, req.target, rel)
	if err != nil {
		return nil, err
	}
	d := &drift{}
	for _, st := range states {
		switch st.Action {
		case engine.ActionConfigured:
			d.changed = append(d.changed, st.Subject+" changed")
		case engine.ActionCreated:
			d.changed = append(d.changed, st.Subject+" removed")
		default:
			continue
		}
		d.objects = append(d.objects, engine.Input{Obj: st.desired, Source: st.Source})
	}
	return d, nil
}

// ignoreRules turns Flux's ignore rules into the comparison's.
func ignoreRules(rules []helmv2.IgnoreRule) []diff.Rule {
	var out []diff.Rule
	for _, ir := range rules {
		r := diff.Rule{Group: "*", Kind: "*", JSONPointers: ir.Paths}
		if t := ir.Target; t != nil {
			if t.Group != "" {
				r.Group = t.Group
			}
			if t.Kind != "" {
				r.Kind = t.Kind
			}
			r.Name, r.Namespace = t.Name, t.Namespace
		}
		out = append(out, r)
	}
	return out
}

// detectDrift reports whether the cluster differs from the release and
// records it in the Drifted condition.
func (r *Reconciler) detectDrift(ctx context.Context, req *request, rel *helm.Release) (bool, error) {
	d, err := r.compareRelease(ctx, req, rel)
	if err != nil {
		return false, err
	}
	req.drift = d
	if len(d.changed) == 0 {
		conditions.Set(req.obj, helmv2.DriftedCondition, metav1.ConditionFalse, helmv2.NoDriftDetectedReason,
			"No drift detected for release %s/%s.v%d", rel.Namespace, rel.Name, rel.Version)
		return false, nil
	}
	msg := fmt.Sprintf("Cluster state of release %s/%s.v%d has drifted from the desired state:\n%s",
		rel.Namespace, rel.Name, rel.Version, strings.Join(d.changed, "\n"))
	conditions.Set(req.obj, helmv2.DriftedCondition, metav1.ConditionTrue, helmv2.DriftDetectedReason, "%s", msg)
	r.event(req.obj, corev1.EventTypeWarning, helmv2.DriftDetectedReason, msg)
	return true, nil
}

// correctDrift applies the drifted objects again (mode enabled); in warn
// mode the drift is only reported.
func (r *Reconciler) correctDrift(ctx context.Context, req *request, rel *helm.Release) error {
	obj := req.obj
	if obj.GetDriftDetection().GetMode() != helmv2.DriftDetectionEnabled || req.drift == nil || len(req.drift.objects) == 0 {
		return nil
	}
	conditions.Set(obj, meta.ReadyCondition, metav1.ConditionUnknown, meta.ProgressingReason, "correcting cluster drift")
	eng, err := req.target.engine(obj)
	if err != nil {
		return err
	}
	_, err = eng.Apply(ctx, req.drift.objects, engine.ApplyOptions{DefaultNamespace: rel.Namespace, Force: true})
	name := fmt.Sprintf("%s/%s.v%d", rel.Namespace, rel.Name, rel.Version)
	if err != nil {
		obj.Status.Failures++
		// Masked before conditions.Set may cut the message.
		msg := fmt.Sprintf("Failed to correct cluster state of release %s:\n%s", name, req.secrets.String(err.Error()))
		r.event(obj, corev1.EventTypeWarning, "DriftCorrectionFailed", msg)
		conditions.Set(obj, meta.ReadyCondition, metav1.ConditionFalse, helmv2.DriftDetectedReason, "%s", msg)
		return errActionFailed
	}
	r.event(obj, corev1.EventTypeNormal, "DriftCorrected",
		fmt.Sprintf("Cluster state of release %s has been corrected:\n%s", name, strings.Join(req.drift.changed, "\n")))
	req.drift = nil
	return nil
}

// inventoryOf lists the objects of a release's manifest in Flux's
// inventory format ("<namespace>_<name>_<group>_<kind>", version), with
// namespaced objects defaulted to the release namespace.
func inventoryOf(rel *helm.Release, mapper apimeta.RESTMapper) *helmv2.ResourceInventory {
	objs, err := decodeManifest([]byte(rel.Manifest))
	if err != nil {
		return nil
	}
	inv := &helmv2.ResourceInventory{Entries: []helmv2.ResourceRef{}}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		ns := o.GetNamespace()
		if ns == "" {
			ns = rel.Namespace
			if m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil && m.Scope.Name() == apimeta.RESTScopeNameRoot {
				ns = ""
			}
		}
		inv.Entries = append(inv.Entries, helmv2.ResourceRef{
			ID:      engine.ID(gvk.GroupKind(), ns, o.GetName()),
			Version: gvk.Version,
		})
	}
	slices.SortFunc(inv.Entries, func(a, b helmv2.ResourceRef) int { return strings.Compare(a.ID, b.ID) })
	return inv
}

package kustomization

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/redact"
	"github.com/tether-gitops/tether/internal/render"
)

// substitutions reads obj's postBuild variables with the controller's
// API reader (see Substitutions).
func (r *Reconciler) substitutions(ctx context.Context, obj *kustomizev1.Kustomization) (map[string]string, []string, error) {
	return Substitutions(ctx, r.APIReader, obj)
}

// Substitutions merges postBuild.substituteFrom (in order, later wins),
// read with reader from obj's namespace, and postBuild.substitute (wins
// over all) into one map. It also returns the values that came from
// Secrets, which must never appear in a message. The controller and
// `tether build|diff ks` both use it, so a local build substitutes as a
// reconcile does.
func Substitutions(ctx context.Context, reader client.Reader, obj *kustomizev1.Kustomization) (map[string]string, []string, error) {
	pb := obj.Spec.PostBuild
	if pb == nil {
		return nil, nil, nil
	}
	var secretValues []string
	vars := map[string]string{}
	for _, ref := range pb.SubstituteFrom {
		key := types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}
		var data map[string]string
		switch ref.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			err := reader.Get(ctx, key, &cm)
			if err != nil && !(apierrors.IsNotFound(err) && ref.Optional) {
				return nil, nil, fail(meta.BuildFailedReason, fmt.Errorf("substitute from ConfigMap '%s': %w", key, err))
			}
			data = cm.Data
		case "Secret":
			var s corev1.Secret
			err := reader.Get(ctx, key, &s)
			if err != nil && !(apierrors.IsNotFound(err) && ref.Optional) {
				return nil, nil, fail(meta.BuildFailedReason, fmt.Errorf("substitute from Secret '%s': %w", key, err))
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
				secretValues = append(secretValues, string(v))
			}
		default:
			return nil, nil, &failure{reason: meta.BuildFailedReason, stalled: true,
				err: fmt.Errorf("substituteFrom kind '%s' is not ConfigMap or Secret", ref.Kind)}
		}
		maps.Copy(vars, data)
	}
	maps.Copy(vars, pb.Substitute)
	return vars, secretValues, nil
}

// masked returns err with every secret value masked (values of
// redact.DefaultMin bytes or more), keeping its reason: render and API
// errors may quote substituted text. err is returned as it is when it
// holds no secret value.
func masked(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	values := redact.New(secrets...)
	if values.String(err.Error()) == err.Error() {
		return err
	}
	f := asFailure(err)
	out := *f
	out.err = values.Error(f.err)
	return &out
}

// RenderOptions translates the Kustomization's spec, with the variables
// of Substitutions, into render options: the controller renders with them
// and so does `tether build|diff ks`.
func RenderOptions(obj *kustomizev1.Kustomization, vars map[string]string) render.Options {
	s := obj.Spec
	opts := render.Options{
		Path:            s.Path,
		Mode:            render.ModeAuto,
		TargetNamespace: s.TargetNamespace,
		NamePrefix:      s.NamePrefix,
		NameSuffix:      s.NameSuffix,
		Components:      s.Components,
		Substitute:      vars,
	}
	if s.CommonMetadata != nil {
		opts.CommonMetadata = &render.Metadata{Labels: s.CommonMetadata.Labels, Annotations: s.CommonMetadata.Annotations}
	}
	if s.PostBuild != nil && s.PostBuild.SubstituteStrategy == kustomizev1.SubstituteStrategyAlways {
		opts.SubstituteAlways = true
	}
	opts.Images, opts.Patches = Overlays(s.Images, s.Patches, s.PatchesStrategicMerge, s.PatchesJSON6902)
	return opts
}

// renderOptions are obj's RenderOptions under the lockdown (remote bases
// and files are built only without --no-remote-bases), decrypting with
// dec.
func (r *Reconciler) renderOptions(obj *kustomizev1.Kustomization, vars map[string]string, dec render.Decryptor) render.Options {
	opts := RenderOptions(obj, vars)
	opts.AllowRemoteBases = !r.Tenancy.NoRemoteBases
	opts.Decryptor = dec
	return opts
}

// buildError is a failed render of revision: the message names the file
// and entry at fault, and for a remote base the flag that refuses it.
func buildError(revision string, err error) error {
	if errors.Is(err, render.ErrRemoteBase) {
		return fmt.Errorf("build of revision '%s' failed: %w: tether runs with --no-remote-bases, so only files of the source may be used; vendor the base into the repository", revision, err)
	}
	return fmt.Errorf("build of revision '%s' failed: %w", revision, err)
}

// Overlays converts Flux's images and patches (all three patch fields)
// into the renderer's, for Kustomizations and for HelmRelease
// post-renderers.
func Overlays(images []kustomizev1.Image, patches []kustomizev1.Patch, strategic []apiextensionsv1.JSON, json6902 []kustomizev1.JSON6902Patch) ([]render.Image, []render.Patch) {
	var outImages []render.Image
	var outPatches []render.Patch
	for _, img := range images {
		outImages = append(outImages, render.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	for _, p := range patches {
		outPatches = append(outPatches, render.Patch{Patch: p.Patch, Target: selector(p.Target)})
	}
	for _, p := range strategic {
		outPatches = append(outPatches, render.Patch{Patch: string(p.Raw)})
	}
	for _, p := range json6902 {
		outPatches = append(outPatches, render.Patch{Patch: jsonPatchText(p), Target: selector(&p.Target)})
	}
	return outImages, outPatches
}

func selector(s *kustomizev1.Selector) *render.Selector {
	if s == nil {
		return nil
	}
	return &render.Selector{Group: s.Group, Version: s.Version, Kind: s.Kind, Name: s.Name, Namespace: s.Namespace,
		LabelSelector: s.LabelSelector, AnnotationSelector: s.AnnotationSelector}
}

// InputsOf turns rendered objects into the engine's inputs, each with
// the file it came from.
func InputsOf(objs []render.Object) []engine.Input {
	in := make([]engine.Input, len(objs))
	for i, o := range objs {
		in[i] = engine.Input{Obj: o.Obj, Source: o.Source}
	}
	return in
}

// inventoryOf converts Flux's status.inventory into the engine's.
func inventoryOf(inv *kustomizev1.ResourceInventory) engine.Inventory {
	if inv == nil {
		return nil
	}
	out := make(engine.Inventory, 0, len(inv.Entries))
	for _, e := range inv.Entries {
		out = append(out, engine.Entry{ID: e.ID, Version: e.Version})
	}
	return out
}

// statusInventory converts the engine's inventory into Flux's.
func statusInventory(inv engine.Inventory) *kustomizev1.ResourceInventory {
	out := &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{}}
	for _, e := range inv {
		out.Entries = append(out.Entries, kustomizev1.ResourceRef{ID: e.ID, Version: e.Version})
	}
	return out
}

func logErr(ctx context.Context, err error) {
	log.FromContext(ctx).Error(err, "drift watch")
}

// jsonPatchText renders a v1beta1 patchesJson6902 entry as a JSON patch
// document, which kustomize accepts as a targeted patch.
func jsonPatchText(p kustomizev1.JSON6902Patch) string {
	ops := make([]map[string]any, 0, len(p.Patch))
	for _, op := range p.Patch {
		m := map[string]any{"op": op.Op, "path": op.Path}
		if op.From != "" {
			m["from"] = op.From
		}
		if op.Value != nil {
			var v any
			if err := json.Unmarshal(op.Value.Raw, &v); err == nil {
				m["value"] = v
			}
		}
		ops = append(ops, m)
	}
	data, _ := json.Marshal(ops)
	return string(data)
}

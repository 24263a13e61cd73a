package helmrelease

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/controller/kustomization"
	"github.com/tether-gitops/tether/internal/render"
)

// postRenderer runs after Helm renders a chart: spec.postRenderers
// (Kustomize, through Tether's renderer), then spec.commonMetadata and the
// origin labels (helm.toolkit.fluxcd.io/name and /namespace) on every
// object, as Flux's helm-controller does.
type postRenderer struct {
	ctx      context.Context
	renderer *render.Renderer
	obj      *helmv2.HelmRelease
}

func (r *Reconciler) postRenderer(ctx context.Context, obj *helmv2.HelmRelease) *postRenderer {
	return &postRenderer{ctx: ctx, renderer: r.Renderer, obj: obj}
}

// Run implements Helm's postrenderer.PostRenderer.
func (p *postRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	objs, err := decodeManifest(in.Bytes())
	if err != nil {
		return nil, fmt.Errorf("post-render: %w", err)
	}
	for i, pr := range p.obj.Spec.PostRenderers {
		if pr.Kustomize == nil {
			continue
		}
		if objs, err = p.kustomize(objs, pr.Kustomize); err != nil {
			return nil, fmt.Errorf("post-renderer %d (kustomize): %w", i, err)
		}
	}
	labels := map[string]string{helmv2.NameLabel: p.obj.Name, helmv2.NamespaceLabel: p.obj.Namespace}
	var annotations map[string]string
	if cm := p.obj.Spec.CommonMetadata; cm != nil {
		for k, v := range cm.Labels {
			if _, origin := labels[k]; !origin {
				labels[k] = v
			}
		}
		annotations = cm.Annotations
	}
	out := &bytes.Buffer{}
	for _, o := range objs {
		o.SetLabels(merged(o.GetLabels(), labels))
		if len(annotations) > 0 {
			o.SetAnnotations(merged(o.GetAnnotations(), annotations))
		}
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("post-render: %w", err)
		}
		out.WriteString("---\n")
		out.Write(data)
	}
	return out, nil
}

// kustomize applies one Kustomize post-renderer to objs.
func (p *postRenderer) kustomize(objs []*unstructured.Unstructured, k *helmv2.Kustomize) ([]*unstructured.Unstructured, error) {
	dir, err := os.MkdirTemp("", "tether-postrender-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	if err := os.WriteFile(filepath.Join(dir, "helm-output.yaml"), buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	opts := render.Options{Mode: render.ModeAuto}
	opts.Images, opts.Patches = kustomization.Overlays(k.Images, k.Patches, k.PatchesStrategicMerge, k.PatchesJSON6902)
	spec, _ := json.Marshal(k)
	sum := sha256.Sum256(append(buf.Bytes(), spec...))
	rendered, err := p.renderer.Render(p.ctx, dir, "helm-postrender:"+hex.EncodeToString(sum[:]), opts)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(rendered))
	for _, o := range rendered {
		out = append(out, o.Obj)
	}
	return out, nil
}

// decodeManifest reads a YAML stream of objects, skipping empty documents.
func decodeManifest(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

func merged(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

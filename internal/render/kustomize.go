package render

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// renderKustomize builds Path with kustomize on an in-memory copy of the
// source, after writing the Options overlays into its kustomization (a
// generated one in ModeAuto when it has none), as Flux does.
//
// prev, when set, is the last build with the same options (of another
// revision): if this revision answers every question that build asked of
// its source alike, its objects are returned instead (reused is true, b
// nil). Otherwise the returned build records this one's questions, nil
// when they cannot be asked again of a tree (remote bases).
func renderKustomize(ctx context.Context, root, key string, o Options, trees *treeCache, prev *built) (objs []Object, b *built, reused bool, err error) {
	t, err := trees.load(ctx, root, key, o.MaxBytes)
	if err != nil {
		return nil, nil, false, err
	}
	if prev != nil && t.answers(prev.accesses) == prev.answers {
		return copyObjects(prev.objects), nil, true, nil
	}
	fs, err := t.fs()
	if err != nil {
		return nil, nil, false, err
	}
	rec := newRecorder(fs)
	// A remote base is not in the tree: it might set a schema too.
	objs, err = buildKustomize(ctx, rec, o, t.setsSchema() || o.AllowRemoteBases)
	if err != nil {
		return nil, nil, false, err
	}
	if accesses, ok := rec.recording(); ok && !o.AllowRemoteBases {
		b = &built{accesses: accesses, answers: t.answers(accesses)}
	}
	return objs, b, false, nil
}

// buildKustomize builds Path of the source in mem; alone when the source
// may set kustomize's OpenAPI schema (see gate).
func buildKustomize(ctx context.Context, mem filesys.FileSystem, o Options, alone bool) ([]Object, error) {
	dir := path.Join(mountDir, o.Path)
	if !mem.IsDir(dir) {
		if mem.Exists(dir) {
			return nil, fmt.Errorf("path %q is not a directory", o.Path)
		}
		return nil, fmt.Errorf("path %q not found in the source", o.Path)
	}
	keepOrigin, err := writeKustomization(mem, dir, o)
	if err != nil {
		return nil, err
	}
	c := &checker{fs: mem, allowRemote: o.AllowRemoteBases, seen: map[string]bool{}}
	if err := c.check(dir); err != nil {
		return nil, err
	}
	m, err := build(ctx, func(ctx context.Context) filesys.FileSystem { return newConfinedFS(ctx, mem, &o) }, dir, alone)
	if err != nil {
		return nil, err
	}
	return toObjects(ctx, m, o, keepOrigin)
}

// kustomizationFile returns the kustomization file in dir, or "".
func kustomizationFile(fs filesys.FileSystem, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if p := path.Join(dir, name); fs.Exists(p) && !fs.IsDir(p) {
			return p
		}
	}
	return ""
}

// writeKustomization writes the Options overlays into dir's kustomization
// (in memory only), generating one in ModeAuto when dir has none. It
// reports whether the user asked for origin annotations on the objects.
func writeKustomization(fs filesys.FileSystem, dir string, o Options) (keepOrigin bool, err error) {
	kus := kustypes.Kustomization{TypeMeta: kustypes.TypeMeta{
		APIVersion: kustypes.KustomizationVersion,
		Kind:       kustypes.KustomizationKind,
	}}
	kfile := kustomizationFile(fs, dir)
	switch {
	case kfile != "":
		data, err := fs.ReadFile(kfile)
		if err != nil {
			return false, err
		}
		if err := yaml.Unmarshal(data, &kus); err != nil {
			return false, yamlError(relPath(kfile), 1, err)
		}
		keepOrigin = slices.Contains(kus.BuildMetadata, kustypes.OriginAnnotations)
	case o.Mode == ModeKustomize:
		return false, fmt.Errorf("%s: no kustomization.yaml, kustomization.yml or Kustomization (mode Kustomize)", displayPath(o.Path))
	default:
		kfile = path.Join(dir, konfig.DefaultKustomizationFileName())
		if kus.Resources, err = generateResources(fs, dir); err != nil {
			return false, err
		}
	}
	applyOverlays(fs, dir, &kus, o)
	if !keepOrigin {
		// Origins tell each object's Source; removed again after the build.
		kus.BuildMetadata = append(kus.BuildMetadata, kustypes.OriginAnnotations)
	}
	out, err := yaml.Marshal(kus)
	if err != nil {
		return false, err
	}
	return keepOrigin, fs.WriteFile(kfile, out)
}

// applyOverlays sets the Options' kustomize fields on kus, the way Flux's
// generator and Argo CD's "kustomize edit set" do: scalars replace, maps
// merge, images and replicas replace the entry of the same name, patches
// and components are appended.
func applyOverlays(fs filesys.FileSystem, dir string, kus *kustypes.Kustomization, o Options) {
	if o.TargetNamespace != "" {
		kus.Namespace = o.TargetNamespace
	}
	if o.NamePrefix != "" {
		kus.NamePrefix = o.NamePrefix
	}
	if o.NameSuffix != "" {
		kus.NameSuffix = o.NameSuffix
	}
	for _, p := range o.Patches {
		kus.Patches = append(kus.Patches, kustypes.Patch{Patch: p.Patch, Path: p.Path, Target: selector(p.Target), Options: patchArgs(p.Options)})
	}
	for _, c := range o.Components {
		if o.IgnoreMissingComponents && !fs.Exists(path.Join(dir, c)) {
			continue
		}
		kus.Components = append(kus.Components, c)
	}
	for _, img := range o.Images {
		kus.Images = setImage(kus.Images, img)
	}
	for _, r := range o.Replicas {
		i := slices.IndexFunc(kus.Replicas, func(x kustypes.Replica) bool { return x.Name == r.Name })
		if i < 0 {
			kus.Replicas = append(kus.Replicas, kustypes.Replica{Name: r.Name, Count: r.Count})
		} else {
			kus.Replicas[i].Count = r.Count
		}
	}
	if len(o.CommonLabels) > 0 {
		// labels with includeSelectors is commonLabels without kustomize's
		// deprecation warning on stderr.
		kus.Labels = append(kus.Labels, kustypes.Label{
			Pairs:            maps.Clone(o.CommonLabels),
			IncludeSelectors: !o.LabelsWithoutSelector,
			IncludeTemplates: o.LabelsWithoutSelector && o.LabelsIncludeTemplates,
		})
	}
	if len(o.CommonAnnotations) > 0 {
		kus.CommonAnnotations = merged(kus.CommonAnnotations, o.CommonAnnotations)
	}
}

func merged(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// setImage replaces the entry for img.Name ("*" keeps a field's old value)
// or appends one.
func setImage(images []kustypes.Image, img Image) []kustypes.Image {
	next := kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest}
	i := slices.IndexFunc(images, func(x kustypes.Image) bool { return x.Name == img.Name })
	var old kustypes.Image
	if i >= 0 {
		old = images[i]
	}
	keep := func(v, prev string) string {
		if v == "*" {
			return prev
		}
		return v
	}
	next.NewName, next.NewTag, next.Digest = keep(next.NewName, old.NewName), keep(next.NewTag, old.NewTag), keep(next.Digest, old.Digest)
	if i < 0 {
		return append(images, next)
	}
	images[i] = next
	return images
}

func patchArgs(m map[string]bool) *kustypes.PatchArgs {
	if len(m) == 0 {
		return nil
	}
	return &kustypes.PatchArgs{AllowNameChange: m["allowNameChange"], AllowKindChange: m["allowKindChange"]}
}

func selector(s *Selector) *kustypes.Selector {
	if s == nil {
		return nil
	}
	out := &kustypes.Selector{LabelSelector: s.LabelSelector, AnnotationSelector: s.AnnotationSelector}
	out.Group, out.Version, out.Kind = s.Group, s.Version, s.Kind
	out.Name, out.Namespace = s.Name, s.Namespace
	return out
}

// relPath turns an in-memory path back into the source's relative path.
func relPath(p string) string {
	if p == mountDir {
		return "."
	}
	return strings.TrimPrefix(p, mountDir+"/")
}

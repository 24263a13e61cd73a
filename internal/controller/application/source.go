package application

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/source/git"
)

// manifests is what one revision of an Application's sources renders to.
type manifests struct {
	revisions   []string // resolved commit per source
	sourceTypes []argov1.ApplicationSourceType
	objects     []render.Object
}

// revision is the first source's commit (status.sync.revision).
func (m *manifests) revision() string {
	if len(m.revisions) == 0 {
		return ""
	}
	return m.revisions[0]
}

// fetchOptions say how fresh the sources must be.
type fetchOptions struct {
	refresh bool // ask the remote again (a normal refresh)
	hard    bool // render again even when the revision is cached

	decryptor render.Decryptor // set by render
}

// render resolves, checks out and renders every source.
func (r *Reconciler) render(ctx context.Context, app *argov1.Application, opts fetchOptions) (*manifests, error) {
	dec, err := r.decryptor(ctx, app)
	if err != nil {
		return nil, err
	}
	opts.decryptor = dec
	out := &manifests{}
	for i, src := range app.Spec.GetSources() {
		rev, typ, objs, err := r.renderSource(ctx, app, src, opts)
		if err != nil {
			if len(app.Spec.GetSources()) > 1 {
				return nil, fmt.Errorf("source %d (%s): %w", i+1, src.RepoURL, err)
			}
			return nil, err
		}
		out.revisions = append(out.revisions, rev)
		out.sourceTypes = append(out.sourceTypes, typ)
		out.objects = append(out.objects, objs...)
	}
	return out, nil
}

var fullHash = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// refOf reads targetRevision as Argo CD does: empty or HEAD follows the
// branch the remote's HEAD names (its default branch, not Flux's
// "master"), a full hash pins a commit, anything else is a branch or,
// failing that, a tag.
func refOf(targetRevision string) git.Ref {
	switch rev := strings.TrimSpace(targetRevision); {
	case rev == "" || rev == "HEAD":
		return git.Ref{Name: "HEAD"}
	case fullHash.MatchString(rev):
		return git.Ref{Commit: strings.ToLower(rev)}
	case strings.HasPrefix(rev, "refs/"):
		return git.Ref{Name: rev}
	default:
		return git.Ref{Branch: rev}
	}
}

func (r *Reconciler) resolve(ctx context.Context, src argov1.ApplicationSource, auth *git.Auth, refresh bool) (git.Ref, git.Resolved, error) {
	ref := refOf(src.TargetRevision)
	res, err := r.Fetcher.Resolve(ctx, src.RepoURL, ref, auth, refresh)
	if errors.Is(err, git.ErrRefNotFound) && ref.Branch != "" {
		ref = git.Ref{Tag: ref.Branch}
		res, err = r.Fetcher.Resolve(ctx, src.RepoURL, ref, auth, refresh)
	}
	return ref, res, err
}

// renderSource renders one source at the revision it resolves to. A source
// with a ref and no path only lends its files to other sources (Argo CD's
// multi-source "ref" sources) and renders nothing itself.
func (r *Reconciler) renderSource(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, opts fetchOptions) (string, argov1.ApplicationSourceType, []render.Object, error) {
	if src.Plugin != nil {
		return "", "", nil, errors.New("config management plugins are not supported")
	}
	if isOCISource(src) {
		return r.renderOCI(ctx, app, src, opts)
	}
	if isHelmRepoSource(src) {
		rev, objs, err := r.renderHelmRepo(ctx, app, src, opts)
		return rev, argov1.ApplicationSourceTypeHelm, objs, err
	}
	auth, err := r.repoAuth(ctx, app, src.RepoURL)
	if err != nil {
		return "", "", nil, err
	}
	ref, res, err := r.resolve(ctx, src, auth, opts.refresh)
	if err != nil {
		return "", "", nil, fmt.Errorf("resolve revision %q of %s: %w", src.TargetRevision, src.RepoURL, err)
	}
	if src.Ref != "" && src.Path == "" {
		return res.Commit, "", nil, nil
	}
	dir, release, err := r.Fetcher.Checkout(ctx, src.RepoURL, ref, res, auth)
	if err != nil {
		return "", "", nil, fmt.Errorf("check out %s: %w", res.Commit, err)
	}
	defer release()
	if src, err = withSourceOverrides(dir, src, app.Name); err != nil {
		return "", "", nil, fmt.Errorf("parameter overrides of %s at %s: %w", displayPath(src.Path), shortHash(res.Commit), err)
	}
	if src.Helm != nil || (src.Kustomize == nil && src.Directory == nil && !hasKustomization(dir, defaultPath(src.Path)) && hasChart(dir, src.Path)) {
		objs, err := r.renderHelmDir(ctx, app, src, dir)
		if err != nil {
			return "", "", nil, fmt.Errorf("render %s at %s: %w", displayPath(src.Path), shortHash(res.Commit), err)
		}
		return res.Commit, argov1.ApplicationSourceTypeHelm, objs, nil
	}
	ro, typ, err := renderOptions(dir, src)
	if err != nil {
		return "", "", nil, err
	}
	ro.Decryptor = opts.decryptor
	key := src.RepoURL + "@" + res.Commit
	if opts.hard {
		key += "#" + r.now().String()
	}
	objs, err := r.Renderer.Render(ctx, dir, key, ro)
	if err != nil {
		return "", "", nil, fmt.Errorf("render %s at %s: %w", displayPath(src.Path), shortHash(res.Commit), err)
	}
	return res.Commit, typ, argoHooks(objs), nil
}

// renderOptions translates an Argo CD source into render options: a folder
// with a kustomization file is a Kustomize source, any other a directory.
func renderOptions(dir string, src argov1.ApplicationSource) (render.Options, argov1.ApplicationSourceType, error) {
	o := render.Options{Path: src.Path}
	if o.Path == "" {
		o.Path = "."
	}
	if src.Kustomize != nil || hasKustomization(dir, o.Path) {
		if src.Directory != nil {
			return o, "", errors.New("spec.source: directory options are set but the path holds a kustomization")
		}
		if !hasKustomization(dir, o.Path) {
			return o, "", fmt.Errorf("spec.source.kustomize: %s has no kustomization.yaml", displayPath(src.Path))
		}
		o.Mode = render.ModeKustomize
		if err := kustomizeOptions(&o, src.Kustomize); err != nil {
			return o, "", err
		}
		return o, argov1.ApplicationSourceTypeKustomize, nil
	}
	o.Mode = render.ModeDirectory
	if d := src.Directory; d != nil {
		o.Recurse, o.Include, o.Exclude = d.Recurse, d.Include, d.Exclude
		o.Jsonnet = jsonnetOptions(d.Jsonnet)
	}
	return o, argov1.ApplicationSourceTypeDirectory, nil
}

// jsonnetOptions translates directory.jsonnet; nil when it sets nothing,
// so that an empty jsonnet block renders (and caches) as none.
func jsonnetOptions(j argov1.ApplicationSourceJsonnet) *render.Jsonnet {
	if len(j.ExtVars)+len(j.TLAs)+len(j.Libs) == 0 {
		return nil
	}
	vars := func(in []argov1.JsonnetVar) []render.JsonnetVar {
		out := make([]render.JsonnetVar, 0, len(in))
		for _, v := range in {
			out = append(out, render.JsonnetVar{Name: v.Name, Value: v.Value, Code: v.Code})
		}
		return out
	}
	return &render.Jsonnet{ExtVars: vars(j.ExtVars), TLAs: vars(j.TLAs), Libs: j.Libs}
}

func kustomizeOptions(o *render.Options, k *argov1.ApplicationSourceKustomize) error {
	if k == nil {
		return nil
	}
	o.NamePrefix, o.NameSuffix, o.TargetNamespace = k.NamePrefix, k.NameSuffix, k.Namespace
	o.CommonLabels, o.CommonAnnotations = k.CommonLabels, k.CommonAnnotations
	o.LabelsWithoutSelector, o.LabelsIncludeTemplates = k.LabelWithoutSelector, k.LabelIncludeTemplates
	o.Components, o.IgnoreMissingComponents = k.Components, k.IgnoreMissingComponents
	for i, s := range k.Images {
		img, err := render.ParseImage(s)
		if err != nil {
			return fmt.Errorf("spec.source.kustomize.images[%d]: %w", i, err)
		}
		o.Images = append(o.Images, img)
	}
	for i, rep := range k.Replicas {
		n := int64(rep.Count.IntValue())
		if rep.Count.Type == intstr.String && fmt.Sprint(n) != rep.Count.StrVal {
			return fmt.Errorf("spec.source.kustomize.replicas[%d].count: %q is not a number", i, rep.Count.StrVal)
		}
		o.Replicas = append(o.Replicas, render.Replica{Name: rep.Name, Count: n})
	}
	for _, p := range k.Patches {
		rp := render.Patch{Patch: p.Patch, Path: p.Path, Options: p.Options}
		if t := p.Target; t != nil {
			rp.Target = &render.Selector{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name,
				Namespace: t.Namespace, LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
		}
		o.Patches = append(o.Patches, rp)
	}
	return nil
}

func hasKustomization(root, path string) bool {
	// Looked up inside the checkout only (os.Root): a path or symlink
	// leading out must not reveal what exists outside (render refuses
	// such paths with one error either way).
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fi, err := r.Stat(filepath.Join(filepath.FromSlash(path), name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func defaultPath(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func displayPath(p string) string {
	if p == "" || p == "." {
		return "the repository root"
	}
	return "path " + p
}

func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

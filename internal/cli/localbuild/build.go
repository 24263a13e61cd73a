package localbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/controller/kustomization"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/redact"
	"github.com/tether-gitops/tether/internal/render"
)

// Options are the inputs of Run and RunDiff.
type Options struct {
	// Name and Namespace name the Kustomization.
	Name, Namespace string
	// Path is the local folder rendered in place of spec.path.
	Path string
	// KustomizationFile, when set, holds the Kustomization, used instead
	// of the cluster's (whose status, when there is one, still gives the
	// inventory).
	KustomizationFile string
	// DryRun renders without the cluster: it needs KustomizationFile and
	// skips postBuild.substituteFrom. Build only.
	DryRun bool
	// Kube returns a client of the cluster; unused with DryRun.
	Kube func() (client.Client, error)
	// Out receives what the command prints.
	Out io.Writer
}

// built is a local folder rendered for a Kustomization.
type built struct {
	ks      *kustomizev1.Kustomization
	objects []render.Object
	// secrets are the values substituted from Secrets: masked wherever
	// they would be printed, as the controller masks them in its messages.
	secrets *redact.Values
}

// Run renders opts.Path as the Kustomization would and prints the
// objects as multi-document YAML, the values of Secrets and those
// substituted from Secrets masked.
func Run(ctx context.Context, opts *Options) error {
	var c client.Client
	if !opts.DryRun {
		var err error
		if c, err = kube(opts); err != nil {
			return err
		}
	}
	b, err := build(ctx, opts, c)
	if err != nil {
		return err
	}
	var out strings.Builder
	if err := writeObjects(&out, b.objects, b.ks); err != nil {
		return err
	}
	_, err = io.WriteString(opts.Out, b.secrets.String(out.String()))
	return err
}

func kube(opts *Options) (client.Client, error) {
	if opts.Kube == nil {
		return nil, errors.New("no cluster connection")
	}
	c, err := opts.Kube()
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	return c, nil
}

// build renders opts.Path with the Kustomization's spec, through the
// controller's own render options and substitutions. c may be nil with
// DryRun.
func build(ctx context.Context, opts *Options, c client.Client) (*built, error) {
	if opts.DryRun && opts.KustomizationFile == "" {
		return nil, errors.New("--dry-run needs --kustomization-file: without the cluster there is no Kustomization to read")
	}
	dir, err := localFolder(opts.Path)
	if err != nil {
		return nil, err
	}
	ks, err := loadKustomization(ctx, opts, c)
	if err != nil {
		return nil, err
	}
	var vars map[string]string
	var secretValues []string
	switch {
	case opts.DryRun && ks.Spec.PostBuild != nil:
		vars = maps.Clone(ks.Spec.PostBuild.Substitute)
	case !opts.DryRun:
		if vars, secretValues, err = kustomization.Substitutions(ctx, c, ks); err != nil {
			return nil, fmt.Errorf("substitutions of Kustomization %s/%s: %w", ks.Namespace, ks.Name, err)
		}
	}
	m := redact.New(secretValues...)
	objs, err := renderFolder(ctx, dir, kustomization.RenderOptions(ks, vars))
	if err != nil {
		return nil, m.Error(fmt.Errorf("build of %s failed: %w", opts.Path, err))
	}
	return &built{ks: ks, objects: objs, secrets: m}, nil
}

// renderFolder renders dir with ro as the source's spec.path. The folder
// itself stands for the source root: a work tree may hold much that its
// Git repository does not (binaries, dependencies), and the renderer
// reads its whole root. Only when the build reaches above the folder (an
// overlay's "../base") is it made again from the Git work tree that
// holds the folder, as the controller builds from the repository's root.
func renderFolder(ctx context.Context, dir string, ro render.Options) ([]render.Object, error) {
	ro.Path = "."
	// A fresh renderer each time: the key only has to be unique within it.
	objs, err := render.NewRenderer(0).Render(ctx, dir, "local:"+dir, ro)
	if err == nil || !errors.Is(err, render.ErrOutsideRoot) {
		return objs, err
	}
	root, rel, ok := workTree(dir)
	if !ok {
		return nil, err
	}
	ro.Path = rel
	objs, rerr := render.NewRenderer(0).Render(ctx, root, "local:"+root, ro)
	if rerr != nil {
		return nil, fmt.Errorf("%w; built from the Git work tree %s instead: %w", err, root, rerr)
	}
	return objs, nil
}

// localFolder checks that dir is a folder and returns its absolute path.
func localFolder(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("--path is required: the local folder to build")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--path %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("--path %s: no such folder", dir)
	}
	if err != nil {
		return "", fmt.Errorf("--path %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("--path %s is a file, not a folder: give the folder that spec.path names", dir)
	}
	return abs, nil
}

// workTree returns the Git work tree above dir (absolute) and dir
// relative to it, slash-separated; ok is false outside of one.
func workTree(dir string) (root, rel string, ok bool) {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			r, err := filepath.Rel(d, dir)
			return d, filepath.ToSlash(r), err == nil
		}
		if filepath.Dir(d) == d {
			return "", "", false
		}
	}
}

// writeObjects prints objs as multi-document YAML, with the owner labels
// the controller stamps on them and Secret values masked.
func writeObjects(w io.Writer, objs []render.Object, ks *kustomizev1.Kustomization) error {
	owner := kustomization.Owner(ks)
	for i, o := range objs {
		u := o.Obj.DeepCopy()
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, owner.Labels)
		u.SetLabels(labels)
		diff.MaskSecrets(u)
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Source, err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

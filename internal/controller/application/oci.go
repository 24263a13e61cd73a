package application

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"golang.org/x/sync/singleflight"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// OCI sources (Argo CD 3.1+): repoURL oci://<registry>/<repository>,
// targetRevision a tag, a semver range or a digest, path a folder inside
// the artifact. The artifact's layer is unpacked (with artifact.Unpack's
// guards) and rendered like a Git checkout, or, when it is a Helm chart,
// rendered as a chart (path "."). The sync revision is the manifest's
// digest, as in Argo CD.

// ociLayerMediaTypes are the layers an OCI source accepts: Argo CD's two
// defaults, and the content layer of `flux push artifact` / `tether push
// artifact` (Argo CD accepts that one only when configured to), so an
// artifact made for Flux syncs as an Application too.
var ociLayerMediaTypes = []string{oci.ImageLayerMediaType, oci.HelmChartContentMediaType, oci.FluxContentMediaType}

// ociResolveTTL is how long a resolved reference is reused by compares
// that are not refreshes, as Git listings are.
const ociResolveTTL = 10 * time.Second

// ociCacheSize is how many unpacked artifacts are kept on disk.
const ociCacheSize = 32

// isOCISource reports whether src is an OCI artifact (not a Helm chart
// named by spec.source.chart, which Helm's registry client reads).
func isOCISource(src argov1.ApplicationSource) bool {
	return strings.HasPrefix(src.RepoURL, oci.Scheme) && src.Chart == ""
}

// ociRefOf reads targetRevision as Argo CD does for OCI sources: empty
// or HEAD is the latest tag, sha256:... a digest, a semver range the
// highest matching tag, anything else a tag.
func ociRefOf(targetRevision string) oci.Ref {
	rev := strings.TrimSpace(targetRevision)
	switch {
	case rev == "" || rev == "HEAD":
		return oci.Ref{}
	case strings.HasPrefix(rev, "sha256:"):
		return oci.Ref{Digest: rev}
	case isSemverRange(rev):
		return oci.Ref{SemVer: rev}
	}
	return oci.Ref{Tag: rev}
}

// isSemverRange reports whether s is a range rather than one version.
func isSemverRange(s string) bool {
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v")); err == nil {
		return false
	}
	if _, err := semver.NewConstraint(s); err != nil {
		return false
	}
	return strings.ContainsAny(s, "*xX^~<>=|, ")
}

// renderOCI renders an OCI source at the digest its targetRevision names.
func (r *Reconciler) renderOCI(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, opts fetchOptions) (string, argov1.ApplicationSourceType, []render.Object, error) {
	if r.OCI == nil {
		return "", "", nil, errors.New("OCI sources are not enabled in this controller")
	}
	res, repoURL, identity, ociOpts, err := r.ociRevision(ctx, app, src, opts.refresh)
	if err != nil {
		return "", "", nil, err
	}
	art, err := r.OCI.Pull(ctx, repoURL, res.Digest, ociOpts)
	if err != nil {
		return "", "", nil, err
	}
	layer, err := art.LayerOf(ociLayerMediaTypes)
	if err != nil {
		return "", "", nil, err
	}
	if layer.MediaType == oci.HelmChartContentMediaType {
		objs, err := r.renderOCIChart(ctx, app, src, art, layer, repoURL+"@"+res.Digest+"|"+identity, ociOpts)
		return res.Digest, argov1.ApplicationSourceTypeHelm, objs, err
	}
	dir, err := r.ociDirs.get(ctx, repoURL+"@"+res.Digest+"|"+identity, func(dst string) error {
		rc, err := r.OCI.OpenLayer(ctx, art, layer, ociOpts)
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := artifact.Unpack(ctx, rc, dst, artifact.Limits{}); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc) // to the end, so the digest is checked
		return err
	})
	if err != nil {
		return "", "", nil, fmt.Errorf("unpack %s@%s: %w", src.RepoURL, res.Digest, err)
	}
	short := shortDigest(res.Digest)
	if src.Helm != nil || (src.Kustomize == nil && src.Directory == nil && !hasKustomization(dir, defaultPath(src.Path)) && hasChart(dir, src.Path)) {
		objs, err := r.renderHelmDir(ctx, app, src, dir)
		if err != nil {
			return "", "", nil, fmt.Errorf("render %s at %s: %w", displayPath(src.Path), short, err)
		}
		return res.Digest, argov1.ApplicationSourceTypeHelm, objs, nil
	}
	ro, typ, err := renderOptions(dir, src)
	if err != nil {
		return "", "", nil, err
	}
	ro.Decryptor = opts.decryptor
	key := src.RepoURL + "@" + res.Digest
	if opts.hard {
		key += "#" + r.now().String()
	}
	objs, err := r.Renderer.Render(ctx, dir, key, ro)
	if err != nil {
		return "", "", nil, fmt.Errorf("render %s at %s: %w", displayPath(src.Path), short, err)
	}
	return res.Digest, typ, argoHooks(objs), nil
}

// ociRevision finds the credentials of an OCI source (Argo CD's
// repository Secrets, as for Helm registries) and resolves its
// targetRevision; it also returns the URL to pull (after enableOCI), the
// credential identity and the registry options.
func (r *Reconciler) ociRevision(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, refresh bool) (oci.Resolved, string, string, oci.Options, error) {
	auth, repoURL, identity, err := r.helmAuth(ctx, app, src.RepoURL)
	if err != nil {
		return oci.Resolved{}, "", "", oci.Options{}, err
	}
	opts := oci.Options{Username: auth.Username, Password: auth.Password, TLS: auth.TLS, Insecure: auth.PlainHTTP}
	res, err := r.ociResolve(ctx, repoURL, ociRefOf(src.TargetRevision), identity, opts, refresh)
	if err != nil {
		return oci.Resolved{}, "", "", oci.Options{}, fmt.Errorf("resolve revision %q of %s: %w", src.TargetRevision, src.RepoURL, err)
	}
	return res, repoURL, identity, opts, nil
}

// renderOCIChart renders an artifact whose layer is a Helm chart archive;
// Argo CD wants path "." for these.
func (r *Reconciler) renderOCIChart(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, art *oci.Artifact, layer oci.Layer, key string, opts oci.Options) ([]render.Object, error) {
	if p := strings.TrimSuffix(src.Path, "/"); p != "" && p != "." {
		return nil, fmt.Errorf("spec.source.path %q: the artifact is a Helm chart, so path must be \".\"", src.Path)
	}
	opts.MaxLayerSize = helm.DefaultMaxChartSize
	data, err := r.helmCharts.get(key, func() ([]byte, error) {
		rc, err := r.OCI.OpenLayer(ctx, art, layer, opts)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	})
	if err != nil {
		return nil, err
	}
	ch, err := helm.LoadArchive(data)
	if err != nil {
		return nil, fmt.Errorf("chart of %s@%s: %w", src.RepoURL, art.Digest, err)
	}
	return r.renderChart(ctx, app, src, ch, func(name string) ([]byte, error) {
		if d := helm.ChartFile(ch, name); d != nil {
			return d, nil
		}
		return nil, fs.ErrNotExist
	})
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return d[:len(d)-len(hex)+12]
	}
	return d
}

// ociResolve resolves ref, reusing an answer younger than ociResolveTTL
// unless refresh asks the registry again. Answers are kept per
// credential identity, so one app's access never answers for another's.
func (r *Reconciler) ociResolve(ctx context.Context, repoURL string, ref oci.Ref, identity string, opts oci.Options, refresh bool) (oci.Resolved, error) {
	key := repoURL + "|" + ref.String() + "|" + ref.SemverFilter + "|" + identity
	r.ociResolved.mu.Lock()
	e, ok := r.ociResolved.m[key]
	r.ociResolved.mu.Unlock()
	if ok && !refresh && r.now().Sub(e.at) < ociResolveTTL {
		return e.res, nil
	}
	res, err := r.OCI.Resolve(ctx, repoURL, ref, opts)
	if err != nil {
		return oci.Resolved{}, err
	}
	r.ociResolved.mu.Lock()
	defer r.ociResolved.mu.Unlock()
	if r.ociResolved.m == nil || len(r.ociResolved.m) > 4096 {
		r.ociResolved.m = map[string]ociResolution{}
	}
	r.ociResolved.m[key] = ociResolution{res: res, at: r.now()}
	return res, nil
}

// ociResolution is one resolved reference and when it was resolved.
type ociResolution struct {
	res oci.Resolved
	at  time.Time
}

// ociResolutions are the recent answers of ociResolve.
type ociResolutions struct {
	mu sync.Mutex
	m  map[string]ociResolution
}

// ociDirCache keeps unpacked artifacts on disk by digest and credential
// identity (artifacts never change under a digest), at most ociCacheSize
// of them; a folder handed out stays until ociCacheSize newer ones came,
// which outlasts any render that reads it.
type ociDirCache struct {
	mu    sync.Mutex
	root  string
	dirs  map[string]string
	order []string
	group singleflight.Group
}

// get returns the folder of key, unpacking it with fill on first use.
func (c *ociDirCache) get(ctx context.Context, key string, fill func(dst string) error) (string, error) {
	c.mu.Lock()
	if d, ok := c.dirs[key]; ok {
		c.mu.Unlock()
		return d, nil
	}
	if c.root == "" {
		root, err := os.MkdirTemp("", "tether-oci-sources-")
		if err != nil {
			c.mu.Unlock()
			return "", err
		}
		c.root, c.dirs = root, map[string]string{}
	}
	root := c.root
	c.mu.Unlock()
	v, err, _ := c.group.Do(key, func() (any, error) {
		dst, err := os.MkdirTemp(root, "a-")
		if err != nil {
			return "", err
		}
		if err := fill(dst); err != nil {
			os.RemoveAll(dst)
			return "", err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.dirs[key] = dst
		c.order = append(c.order, key)
		for len(c.order) > ociCacheSize {
			os.RemoveAll(c.dirs[c.order[0]])
			delete(c.dirs, c.order[0])
			c.order = c.order[1:]
		}
		return dst, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// close removes every unpacked artifact.
func (c *ociDirCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.root == "" {
		return nil
	}
	err := os.RemoveAll(filepath.Clean(c.root))
	c.root, c.dirs, c.order = "", nil, nil
	return err
}

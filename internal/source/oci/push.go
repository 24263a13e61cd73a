package oci

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tether-gitops/tether/internal/source/artifact"
)

// BuildOptions say what Build packs.
type BuildOptions struct {
	// Path is a folder (its content is packed) or a single file.
	Path string
	// Ignore holds patterns in .gitignore syntax; any pattern replaces
	// Flux's default exclusions (version control files stay excluded),
	// as `flux build artifact --ignore-paths` does. A .sourceignore in the
	// folder is honoured too.
	Ignore []string
}

// Build writes the tar.gz of opts.Path to w: the files of the folder at
// the archive's root (or the one file), with fixed modes and times, so the
// same files always give the same bytes. Symlinks leading outside the
// folder fail the build.
func Build(ctx context.Context, w io.Writer, opts BuildOptions) (artifact.PackResult, error) {
	info, err := os.Stat(opts.Path)
	if err != nil {
		return artifact.PackResult{}, fmt.Errorf("--path: %w", err)
	}
	dir, ignore := opts.Path, strings.Join(opts.Ignore, "\n")
	if !info.IsDir() {
		// One file: pack its folder with everything else excluded.
		dir = filepath.Dir(opts.Path)
		ignore = "/*\n!/" + escapeIgnore(filepath.Base(opts.Path)) + "\n" + ignore
	}
	return artifact.Pack(ctx, w, artifact.PackOptions{Dir: dir, Ignore: ignore})
}

// escapeIgnore quotes the characters that .gitignore patterns treat as
// special, so a file name is matched literally.
func escapeIgnore(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "!", `\!`, "#", `\#`).Replace(s)
}

// Metadata are the annotations `flux push artifact` writes.
type Metadata struct {
	// Source is the URL of the files' origin (--source).
	Source string
	// Revision is the origin's revision (--revision).
	Revision string
	// Created is the build time; the zero time means now.
	Created time.Time
	// Annotations are further annotations (--annotations).
	Annotations map[string]string
}

func (m Metadata) annotations() map[string]string {
	out := map[string]string{}
	for k, v := range m.Annotations {
		out[k] = v
	}
	created := m.Created
	if created.IsZero() {
		created = time.Now()
	}
	out[AnnotationCreated] = created.UTC().Format(time.RFC3339)
	if m.Source != "" {
		out[AnnotationSource] = m.Source
	}
	if m.Revision != "" {
		out[AnnotationRevision] = m.Revision
	}
	return out
}

// Pushed says where an artifact went.
type Pushed struct {
	// Repository is "<registry>/<path>" as written.
	Repository string
	// Tag is the tag pushed.
	Tag string
	// Digest is the manifest's digest.
	Digest string
}

// URL is "oci://<repository>@<digest>".
func (p Pushed) URL() string { return Scheme + p.Repository + "@" + p.Digest }

// ParseReference splits "oci://<registry>/<path>:<tag>" (or "@<digest>")
// into the repository URL and the tag or digest.
func ParseReference(ref string) (url, tag, digest string, err error) {
	if !strings.HasPrefix(ref, Scheme) {
		return "", "", "", fmt.Errorf("%q: %w: an artifact URL starts with %s", ref, ErrInvalid, Scheme)
	}
	raw := strings.TrimPrefix(ref, Scheme)
	if repoPart, d, ok := strings.Cut(raw, "@"); ok {
		if _, err := name.NewDigest(raw, name.StrictValidation); err != nil {
			return "", "", "", fmt.Errorf("%q: %w: %w", ref, ErrInvalid, err)
		}
		return Scheme + repoPart, "", d, nil
	}
	t, err := name.NewTag(raw, name.StrictValidation)
	if err != nil || !strings.Contains(raw[strings.LastIndex(raw, "/")+1:], ":") {
		return "", "", "", fmt.Errorf("%q: %w: it needs a tag (oci://<registry>/<repository>:<tag>)", ref, ErrInvalid)
	}
	return Scheme + strings.TrimSuffix(raw, ":"+t.TagStr()), t.TagStr(), "", nil
}

// Push uploads content (a tar.gz from Build) to the repository at url as
// tag, the way `flux push artifact` lays it out: an OCI manifest whose
// config is Flux's empty config and whose single layer is the content,
// annotated with meta.
func (c *Client) Push(ctx context.Context, url, tag string, content []byte, meta Metadata, opts Options) (Pushed, error) {
	r, err := c.repository(url, opts)
	if err != nil {
		return Pushed{}, err
	}
	ctx, cancel := withTimeout(ctx, opts)
	defer cancel()
	ropts, err := remoteOptions(ctx, r, opts)
	if err != nil {
		return Pushed{}, err
	}
	img, err := fluxImage(content, meta)
	if err != nil {
		return Pushed{}, err
	}
	if err := remote.Write(r.target.Tag(tag), img, ropts...); err != nil {
		return Pushed{}, fmt.Errorf("push to %s:%s: %w", r.display(), tag, classify(err))
	}
	d, err := img.Digest()
	if err != nil {
		return Pushed{}, err
	}
	return Pushed{Repository: r.written, Tag: tag, Digest: d.String()}, nil
}

// fluxImage is the artifact image of content.
func fluxImage(content []byte, meta Metadata) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, FluxConfigMediaType)
	layer := static.NewLayer(content, FluxContentMediaType)
	img, err := mutate.Append(img, mutate.Addendum{Layer: layer})
	if err != nil {
		return nil, fmt.Errorf("build the artifact: %w", err)
	}
	return mutate.Annotations(img, meta.annotations()).(v1.Image), nil
}

// Tag adds tags to the artifact that ref names in the repository at url
// (ref is a tag or a digest).
func (c *Client) Tag(ctx context.Context, url, ref string, tags []string, opts Options) (string, error) {
	r, err := c.repository(url, opts)
	if err != nil {
		return "", err
	}
	ctx, cancel := withTimeout(ctx, opts)
	defer cancel()
	ropts, err := remoteOptions(ctx, r, opts)
	if err != nil {
		return "", err
	}
	var src name.Reference = r.target.Tag(ref)
	if strings.Contains(ref, ":") {
		src = r.target.Digest(ref)
	}
	desc, err := remote.Get(src, ropts...)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", r.display(), ref, classify(err))
	}
	for _, t := range tags {
		if _, err := name.NewTag("example.invalid/x:"+t, name.StrictValidation); err != nil {
			return "", fmt.Errorf("tag %q: %w: %w", t, ErrInvalid, err)
		}
		if err := remote.Tag(r.target.Tag(t), desc, ropts...); err != nil {
			return "", fmt.Errorf("tag %s as %s: %w", r.display(), t, classify(err))
		}
	}
	return desc.Digest.String(), nil
}

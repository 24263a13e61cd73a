package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of the artifacts this package reads and writes.
const (
	// FluxConfigMediaType is the config of an artifact made by `flux push
	// artifact` (and `tether push artifact`).
	FluxConfigMediaType = "application/vnd.cncf.flux.config.v1+json"
	// FluxContentMediaType is its single layer: a tar.gz of the files.
	FluxContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	// HelmChartContentMediaType is the layer of a Helm chart pushed to a
	// registry: the chart archive.
	HelmChartContentMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	// ImageLayerMediaType is an OCI image layer (what ORAS pushes a folder
	// as).
	ImageLayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// Standard annotations of an artifact's manifest.
const (
	// AnnotationCreated is when the artifact was built.
	AnnotationCreated = "org.opencontainers.image.created"
	// AnnotationSource is the URL of the files' origin (a Git repository).
	AnnotationSource = "org.opencontainers.image.source"
	// AnnotationRevision is the origin's revision ("main@sha1:<hash>").
	AnnotationRevision = "org.opencontainers.image.revision"
)

const (
	// maxManifestSize bounds a manifest: real ones are a few kilobytes.
	maxManifestSize = 4 << 20
	// DefaultMaxLayerSize bounds a compressed layer when
	// Options.MaxLayerSize is zero.
	DefaultMaxLayerSize int64 = 100 << 20
)

// Artifact is a pulled manifest: what its layers are, not their content.
type Artifact struct {
	// Digest is the manifest's digest.
	Digest string
	// Annotations are the manifest's annotations.
	Annotations map[string]string
	// Layers are the manifest's layers, in order.
	Layers []Layer

	repo repo
}

// Layer describes one layer of an artifact.
type Layer struct {
	MediaType string
	Digest    string
	Size      int64
}

// manifest is the part of an OCI image manifest (or Docker v2 schema 2
// manifest) that is read here.
type manifest struct {
	MediaType   string            `json:"mediaType"`
	Annotations map[string]string `json:"annotations"`
	Layers      []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"layers"`
	Manifests json.RawMessage `json:"manifests"`
}

// parseManifest reads a manifest from a registry, which is not trusted:
// an index, a layer without a valid digest or with a negative size, or
// anything that is not JSON fails with ErrInvalid.
func parseManifest(data []byte) (manifest, error) {
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return manifest{}, fmt.Errorf("%w: manifest is not valid JSON: %w", ErrInvalid, err)
	}
	switch types.MediaType(m.MediaType) {
	case types.OCIImageIndex, types.DockerManifestList:
		return manifest{}, fmt.Errorf("%w: the reference is an image index, not an artifact", ErrInvalid)
	}
	if len(m.Manifests) > 0 && string(m.Manifests) != "null" {
		return manifest{}, fmt.Errorf("%w: the reference is an image index, not an artifact", ErrInvalid)
	}
	for i, l := range m.Layers {
		if _, err := v1.NewHash(l.Digest); err != nil {
			return manifest{}, fmt.Errorf("%w: layer %d has an invalid digest: %w", ErrInvalid, i, err)
		}
		if l.Size < 0 {
			return manifest{}, fmt.Errorf("%w: layer %d has a negative size", ErrInvalid, i)
		}
	}
	return m, nil
}

// Pull reads the manifest of digest (from Resolve) in the repository at
// url. No layer is downloaded.
func (c *Client) Pull(ctx context.Context, url, digest string, opts Options) (*Artifact, error) {
	r, err := c.repository(url, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx, opts)
	defer cancel()
	ropts, err := remoteOptions(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r.target.Digest(digest), ropts...)
	if err != nil {
		return nil, fmt.Errorf("%s: read manifest %s: %w", r.display(), digest, classify(err))
	}
	if len(desc.Manifest) > maxManifestSize {
		return nil, fmt.Errorf("%s: manifest %s: %w: more than %d bytes", r.display(), digest, ErrTooLarge, maxManifestSize)
	}
	m, err := parseManifest(desc.Manifest)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", r.display(), digest, err)
	}
	a := &Artifact{Digest: digest, Annotations: m.Annotations, repo: r}
	for _, l := range m.Layers {
		a.Layers = append(a.Layers, Layer{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
	}
	return a, nil
}

// Layer returns the first layer of mediaType, or the first layer of all
// when mediaType is empty, as Flux's layerSelector chooses.
func (a *Artifact) Layer(mediaType string) (Layer, error) {
	for _, l := range a.Layers {
		if mediaType == "" || l.MediaType == mediaType {
			return l, nil
		}
	}
	if mediaType == "" {
		return Layer{}, fmt.Errorf("%s@%s: %w: the artifact has no layers", a.repo.display(), a.Digest, ErrInvalid)
	}
	return Layer{}, fmt.Errorf("%s@%s: %w: no layer of media type '%s' (the artifact has %s)",
		a.repo.display(), a.Digest, ErrNotFound, mediaType, a.mediaTypes())
}

// LayerOf returns the first layer whose media type is one of accepted.
func (a *Artifact) LayerOf(accepted []string) (Layer, error) {
	for _, l := range a.Layers {
		if slices.Contains(accepted, l.MediaType) {
			return l, nil
		}
	}
	return Layer{}, fmt.Errorf("%s@%s: %w: no layer of an accepted media type (%v; the artifact has %s)",
		a.repo.display(), a.Digest, ErrNotFound, accepted, a.mediaTypes())
}

func (a *Artifact) mediaTypes() string {
	if len(a.Layers) == 0 {
		return "no layers"
	}
	var out []string
	for _, l := range a.Layers {
		out = append(out, "'"+l.MediaType+"'")
	}
	return fmt.Sprint(out)
}

// OpenLayer streams the compressed content of layer l of a, refusing
// layers over opts.MaxLayerSize. The reader checks the layer's digest as
// it reads and fails at the end if it does not match; Close it.
func (c *Client) OpenLayer(ctx context.Context, a *Artifact, l Layer, opts Options) (io.ReadCloser, error) {
	limit := opts.MaxLayerSize
	if limit <= 0 {
		limit = DefaultMaxLayerSize
	}
	if l.Size > limit {
		return nil, fmt.Errorf("%s@%s: layer %s: %w: %d bytes, the limit is %d", a.repo.display(), a.Digest, l.Digest, ErrTooLarge, l.Size, limit)
	}
	ctx, cancel := withTimeout(ctx, opts)
	ropts, err := remoteOptions(ctx, a.repo, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	layer, err := remote.Layer(a.repo.target.Digest(l.Digest), ropts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s@%s: layer %s: %w", a.repo.display(), a.Digest, l.Digest, classify(err))
	}
	rc, err := layer.Compressed()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s@%s: layer %s: %w", a.repo.display(), a.Digest, l.Digest, classify(err))
	}
	return &boundedReader{r: rc, limit: limit, cancel: cancel, what: fmt.Sprintf("layer %s", l.Digest)}, nil
}

// boundedReader fails once more than limit bytes have been read, and
// ends the operation's context on Close.
type boundedReader struct {
	r      io.ReadCloser
	read   int64
	limit  int64
	cancel context.CancelFunc
	what   string
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.read += int64(n); b.read > b.limit {
		return 0, fmt.Errorf("%s: %w: more than %d bytes", b.what, ErrTooLarge, b.limit)
	}
	return n, err
}

func (b *boundedReader) Close() error {
	defer b.cancel()
	return b.r.Close()
}

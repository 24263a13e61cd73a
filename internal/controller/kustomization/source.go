package kustomization

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// checkDependencies fails with DependencyNotReady until every Kustomization
// in spec.dependsOn is Ready for its current generation.
func (r *Reconciler) checkDependencies(ctx context.Context, obj *kustomizev1.Kustomization) error {
	for _, dep := range obj.Spec.DependsOn {
		key := types.NamespacedName{Namespace: dep.Namespace, Name: dep.Name}
		if key.Namespace == "" {
			key.Namespace = obj.Namespace
		}
		var k kustomizev1.Kustomization
		err := r.Client.Get(ctx, key, &k)
		if err == nil && (!conditions.IsTrue(&k, meta.ReadyCondition) || k.Status.ObservedGeneration != k.Generation) {
			err = fmt.Errorf("it is not ready")
		}
		if err != nil {
			f := fail(meta.DependencyNotReadyReason, fmt.Errorf("dependency '%s' is not ready: %w", key, err))
			f.requeue = 10 * time.Second
			return f
		}
	}
	return nil
}

// sourceArtifact returns the artifact of spec.sourceRef.
func (r *Reconciler) sourceArtifact(ctx context.Context, obj *kustomizev1.Kustomization) (*meta.Artifact, error) {
	ref := obj.Spec.SourceRef
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	if key.Namespace == "" {
		key.Namespace = obj.Namespace
	}
	if err := r.Tenancy.Reference(obj.Namespace, ref.Kind, ref.Namespace, ref.Name); err != nil {
		return nil, &failure{reason: tenancy.AccessDeniedReason, stalled: true, err: err}
	}
	var src interface {
		client.Object
		GetArtifact() *meta.Artifact
	}
	switch ref.Kind {
	case sourcev1.GitRepositoryKind:
		src = &sourcev1.GitRepository{}
	case sourcev1.BucketKind:
		src = &sourcev1.Bucket{}
	case sourcev1.OCIRepositoryKind:
		src = &sourcev1.OCIRepository{}
	default:
		return nil, &failure{reason: meta.ArtifactFailedReason, stalled: true,
			err: fmt.Errorf("source kind '%s' of %s is not supported: use a GitRepository, an OCIRepository or a Bucket", ref.Kind, ref)}
	}
	if err := r.Client.Get(ctx, key, src); err != nil {
		return nil, fail(meta.ArtifactFailedReason, fmt.Errorf("source '%s' not found: %w", ref, err))
	}
	if src.GetArtifact() == nil {
		return nil, fail(meta.ArtifactFailedReason, fmt.Errorf("source '%s' has no artifact yet", ref))
	}
	return src.GetArtifact(), nil
}

// artifactCache unpacks each artifact digest once and shares the folder
// among every Kustomization that uses it. A folder in use is never removed;
// beyond keep folders, the least recently used idle ones go.
type artifactCache struct {
	storage *artifact.Storage
	root    string
	rootErr error
	group   singleflight.Group
	keep    int

	mu      sync.Mutex
	entries map[string]*unpacked // by digest
	clock   uint64
}

// unpacked is one artifact's folder and who is using it.
type unpacked struct {
	dir      string
	refs     int
	lastUsed uint64
}

func newArtifactCache(storage *artifact.Storage) *artifactCache {
	root, err := os.MkdirTemp("", "tether-artifacts-")
	return &artifactCache{storage: storage, root: root, rootErr: err, keep: 64, entries: map[string]*unpacked{}}
}

// get returns the folder holding artifact a, unpacking it on first use,
// and a release func to call when the caller is done reading it.
func (c *artifactCache) get(ctx context.Context, a *meta.Artifact) (string, func(), error) {
	if c.rootErr != nil {
		return "", nil, fail(meta.ArtifactFailedReason, fmt.Errorf("artifact cache: %w", c.rootErr))
	}
	if dir, release, ok := c.acquire(a.Digest); ok {
		return dir, release, nil
	}
	_, err, _ := c.group.Do(a.Digest, func() (any, error) {
		if _, release, ok := c.acquire(a.Digest); ok { // unpacked meanwhile
			release()
			return nil, nil
		}
		dir := filepath.Join(c.root, digestName(a.Digest))
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		// Another replica may have made it (--shards auto).
		if err := c.storage.Fetch(ctx, a.Path, a.URL, a.Digest); err != nil {
			return nil, err
		}
		if err := c.storage.Extract(ctx, a.Path, dir); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("extract artifact %s (revision '%s'): %w", a.Path, a.Revision, err)
		}
		c.mu.Lock()
		c.entries[a.Digest] = &unpacked{dir: dir}
		c.mu.Unlock()
		return nil, nil
	})
	if err != nil {
		return "", nil, fail(meta.ArtifactFailedReason, err)
	}
	dir, release, ok := c.acquire(a.Digest)
	if !ok {
		return "", nil, fail(meta.ArtifactFailedReason, fmt.Errorf("artifact %s was evicted while unpacking; retrying", a.Path))
	}
	return dir, release, nil
}

// close removes every unpacked folder.
func (c *artifactCache) close() error {
	if c.root == "" {
		return nil
	}
	return os.RemoveAll(c.root)
}

// acquire takes a reference on an unpacked digest.
func (c *artifactCache) acquire(digest string) (string, func(), bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[digest]
	if !ok {
		return "", nil, false
	}
	e.refs++
	c.clock++
	e.lastUsed = c.clock
	var once sync.Once
	return e.dir, func() { once.Do(func() { c.release(e) }) }, true
}

// release drops a reference and removes the least recently used idle
// folders beyond keep.
func (c *artifactCache) release(e *unpacked) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	for len(c.entries) > c.keep {
		var oldest string
		for d, en := range c.entries {
			if en.refs == 0 && (oldest == "" || en.lastUsed < c.entries[oldest].lastUsed) {
				oldest = d
			}
		}
		if oldest == "" {
			return // every folder is in use
		}
		os.RemoveAll(c.entries[oldest].dir)
		delete(c.entries, oldest)
	}
}

func digestName(d string) string {
	return strings.NewReplacer(":", "-", "/", "-").Replace(d)
}

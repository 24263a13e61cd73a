package kustomization

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/types"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/source/artifact"
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
			f.requeue = 5 * time.Second
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
	if ref.Kind != "GitRepository" {
		return nil, &failure{reason: meta.ArtifactFailedReason, stalled: true,
			err: fmt.Errorf("source kind '%s' of %s is not supported yet: use a GitRepository", ref.Kind, ref)}
	}
	var src sourcev1.GitRepository
	if err := r.Client.Get(ctx, key, &src); err != nil {
		return nil, fail(meta.ArtifactFailedReason, fmt.Errorf("source '%s' not found: %w", ref, err))
	}
	if src.Status.Artifact == nil {
		return nil, fail(meta.ArtifactFailedReason, fmt.Errorf("source '%s' has no artifact yet", ref))
	}
	return src.Status.Artifact, nil
}

// artifactCache unpacks each artifact digest once and shares the folder
// among every Kustomization that uses it. Folders are read-only for users.
type artifactCache struct {
	storage *artifact.Storage
	root    string
	group   singleflight.Group
	mu      sync.Mutex
	dirs    map[string]string // digest -> folder
	order   []string
	keep    int
}

func newArtifactCache(storage *artifact.Storage) *artifactCache {
	return &artifactCache{storage: storage, dirs: map[string]string{}, keep: 64}
}

// get returns the folder holding artifact a, unpacking it on first use.
func (c *artifactCache) get(ctx context.Context, a *meta.Artifact) (string, error) {
	c.mu.Lock()
	if dir, ok := c.dirs[a.Digest]; ok {
		c.mu.Unlock()
		return dir, nil
	}
	c.mu.Unlock()
	v, err, _ := c.group.Do(a.Digest, func() (any, error) {
		if c.root == "" {
			root, err := os.MkdirTemp("", "tether-artifacts-")
			if err != nil {
				return "", err
			}
			c.root = root
		}
		dir := filepath.Join(c.root, digestName(a.Digest))
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
		if err := c.storage.Extract(ctx, a.Path, dir); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("extract artifact %s (revision '%s'): %w", a.Path, a.Revision, err)
		}
		c.add(a.Digest, dir)
		return dir, nil
	})
	if err != nil {
		return "", fail(meta.ArtifactFailedReason, err)
	}
	return v.(string), nil
}

// add records dir and forgets the oldest folders beyond keep. A folder in
// use by a running render is only unlinked from the map; renders read it
// through open descriptors or have copied it already.
func (c *artifactCache) add(digest, dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dirs[digest] = dir
	c.order = append(c.order, digest)
	for len(c.order) > c.keep {
		old := c.order[0]
		c.order = c.order[1:]
		os.RemoveAll(c.dirs[old])
		delete(c.dirs, old)
	}
}

func digestName(d string) string {
	out := []rune{}
	for _, r := range d {
		if r == ':' || r == '/' {
			r = '-'
		}
		out = append(out, r)
	}
	return string(out)
}

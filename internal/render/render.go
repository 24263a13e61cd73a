package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Errors that a caller may want to tell apart; retrying cannot fix any of
// them until the source or the options change.
var (
	// ErrOutsideRoot: a path, symlink or kustomization entry leaves the source root.
	ErrOutsideRoot = errors.New("leaves the source root")
	// ErrRemoteBase: a kustomization includes a remote base or file while
	// Options.AllowRemoteBases is off.
	ErrRemoteBase = errors.New("remote bases are not allowed")
	// ErrTooLarge: the source holds more than Options.MaxBytes.
	ErrTooLarge = errors.New("source is larger than the render limit")
	// ErrTooManyObjects: the render produced more than Options.MaxObjects.
	ErrTooManyObjects = errors.New("render produced more objects than the limit")
	// ErrTimeout: a kustomize build ran longer than Renderer.Timeout.
	ErrTimeout = errors.New("the render took longer than its deadline")
)

// Object is one rendered Kubernetes object and the file it came from.
type Object struct {
	Obj *unstructured.Unstructured
	// Source is the file, relative to the source root, that produced the
	// object ("deploy/webapp/deployment.yaml"; the kustomization file for
	// generated objects; "URL//path?ref=..." for a remote base).
	Source string
}

// Renderer renders sources and remembers the results of recent renders.
// It is safe for concurrent use.
type Renderer struct {
	// Timeout bounds each kustomize build from the moment it starts (not
	// while it waits for another build); 0 leaves builds bounded by the
	// caller's context alone. A build past it fails with ErrTimeout, so
	// one tenant's pathological kustomization cannot hold the builds of
	// the others (CVE-2022-24878).
	Timeout time.Duration

	group singleflight.Group
	trees *treeCache

	mu      sync.Mutex
	cache   *lru
	renders int
	hits    int
}

// NewRenderer returns a Renderer that keeps the results of the last
// cacheSize renders (0 keeps none).
func NewRenderer(cacheSize int) *Renderer {
	return &Renderer{cache: newLRU(cacheSize), trees: newTreeCache(DefaultTreeCacheSize, DefaultTreeCacheBytes)}
}

// Render turns the source unpacked at root into objects, reading root
// only. key identifies the content of root (its digest): Render is a pure
// function of (key, opts), so successful results are cached by (key,
// opts) (errors are not, so a passing failure cannot stick), and
// concurrent calls for the same pair share one render. Each call gets its
// own deep copy.
func (r *Renderer) Render(ctx context.Context, root, key string, opts Options) ([]Object, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("render options: %w", err)
	}
	ck, err := cacheKey(key, o)
	if err != nil {
		return nil, err
	}
	for {
		if res, ok := r.lookup(ck); ok {
			return copyObjects(res.objects), res.err
		}
		ch := r.group.DoChan(ck, func() (any, error) {
			objs, err := render(withBuildTimeout(ctx, r.Timeout), root, key, o, r.trees)
			r.store(ck, objs, err)
			return objs, err
		})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case res := <-ch:
			if res.Err != nil && isContextError(res.Err) && ctx.Err() == nil {
				continue // the caller that rendered gave up; render for us
			}
			objs, _ := res.Val.([]Object)
			return copyObjects(objs), res.Err
		}
	}
}

// Stats reports how many renders ran and how many calls the cache answered.
func (r *Renderer) Stats() (renders, hits int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.renders, r.hits
}

func (r *Renderer) lookup(ck string) (result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.cache.get(ck)
	if ok {
		r.hits++
	}
	return res, ok
}

func (r *Renderer) store(ck string, objs []Object, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renders++
	if err != nil {
		// Errors are not kept: a passing I/O failure (a folder being
		// unpacked or removed) must not turn into a lasting BuildFailed.
		return
	}
	r.cache.add(ck, result{objects: copyObjects(objs), err: err})
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errBusy)
}

// cacheKey is the source key and a digest of the normalized options.
func cacheKey(key string, o Options) (string, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("render options: %w", err)
	}
	sum := sha256.Sum256(b)
	return key + "\x00" + hex.EncodeToString(sum[:]), nil
}

func copyObjects(objs []Object) []Object {
	if objs == nil {
		return nil
	}
	out := make([]Object, len(objs))
	for i, o := range objs {
		out[i] = Object{Obj: o.Obj.DeepCopy(), Source: o.Source}
	}
	return out
}

// render runs one render, without the result cache; Kustomize builds read
// the source through trees.
func render(ctx context.Context, root, key string, o Options, trees *treeCache) ([]Object, error) {
	var objs []Object
	var err error
	if o.Mode == ModeDirectory {
		objs, err = renderDirectory(ctx, root, o)
	} else {
		objs, err = renderKustomize(ctx, root, key, o, trees)
	}
	if err != nil {
		return nil, err
	}
	if len(objs) > o.MaxObjects {
		return nil, fmt.Errorf("%d objects, limit %d: %w", len(objs), o.MaxObjects, ErrTooManyObjects)
	}
	if m := o.CommonMetadata; m != nil {
		for _, obj := range objs {
			setMetadata(obj.Obj, m)
		}
	}
	return objs, nil
}

// setMetadata adds labels and annotations to the object's metadata,
// overriding keys it already has (Flux's commonMetadata).
func setMetadata(u *unstructured.Unstructured, m *Metadata) {
	if len(m.Labels) > 0 {
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, m.Labels)
		u.SetLabels(labels)
	}
	if len(m.Annotations) > 0 {
		annotations := u.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		maps.Copy(annotations, m.Annotations)
		u.SetAnnotations(annotations)
	}
}

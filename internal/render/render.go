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

	group  singleflight.Group
	trees  *treeCache
	builds builds // the last build per options, for reuse across revisions

	mu      sync.Mutex
	cache   *lru
	renders int
	hits    int
	reused  int
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
	od, err := optionsDigest(o)
	if err != nil {
		return nil, err
	}
	ck := key + "\x00" + od
	for {
		if res, ok := r.lookup(ck); ok {
			return copyObjects(res.objects), res.err
		}
		ch := r.group.DoChan(ck, func() (any, error) {
			prev, _ := r.builds.get(od)
			objs, b, reused, err := render(withBuildTimeout(ctx, r.Timeout), root, key, o, r.trees, prev)
			if o.Decryptor != nil && !reused {
				if err = o.Decryptor.Finish(objs, err); err != nil {
					objs, b = nil, nil
				}
			}
			if err == nil && b != nil {
				b.objects = copyObjects(objs)
				r.builds.put(od, b)
			}
			r.store(ck, objs, err, reused)
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

// Reused reports how many renders of a new revision handed back the
// previous revision's objects, because every file the build had read was
// the same (they are not counted in Stats' renders).
func (r *Renderer) Reused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reused
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

func (r *Renderer) store(ck string, objs []Object, err error, reused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reused {
		r.reused++
	} else {
		r.renders++
	}
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

// optionsDigest is a digest of the normalized options: results are cached
// by the source key and it.
func optionsDigest(o Options) (string, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("render options: %w", err)
	}
	if o.Decryptor != nil {
		b = append(b, "\x00decryptor:"+o.Decryptor.ID()...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
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
// the source through trees, and hand back prev's objects when the source
// answers prev's questions alike (reused; see renderKustomize).
func render(ctx context.Context, root, key string, o Options, trees *treeCache, prev *built) (objs []Object, b *built, reused bool, err error) {
	if o.Mode == ModeDirectory {
		objs, b, reused, err = renderDirectory(ctx, root, o, prev)
	} else {
		objs, b, reused, err = renderKustomize(ctx, root, key, o, trees, prev)
	}
	if err != nil {
		return nil, nil, false, err
	}
	if reused {
		return objs, nil, true, nil
	}
	if len(objs) > o.MaxObjects {
		return nil, nil, false, fmt.Errorf("%d objects, limit %d: %w", len(objs), o.MaxObjects, ErrTooManyObjects)
	}
	if m := o.CommonMetadata; m != nil {
		for _, obj := range objs {
			setMetadata(obj.Obj, m)
		}
	}
	return objs, b, false, nil
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

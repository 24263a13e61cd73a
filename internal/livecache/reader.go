package livecache

import (
	"context"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Reader returns a client.Reader that serves Get of an unstructured object
// from memory when it can, and otherwise asks api: while the informer of
// its kind has not listed yet (or cannot: the cache's identity may not
// watch the kind), for an unmanaged object (a stub), and for an object
// written through this process whose write the informer has not shown
// within writeWait.
// A managed object the listed informer does not hold does not exist (as of
// the last event): Get says NotFound without a request. List always asks
// api.
func (c *Cache) Reader(api client.Reader) client.Reader { return &reader{cache: c, api: api} }

type reader struct {
	cache *Cache
	api   client.Reader
}

func (r *reader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || len(opts) > 0 {
		return r.api.Get(ctx, key, obj, opts...)
	}
	gvk := u.GroupVersionKind()
	if _, synced, err := r.cache.informer(ctx, gvk); err != nil || !synced {
		return r.api.Get(ctx, key, obj)
	}
	// This process's own write usually reaches the informer within
	// milliseconds: wait that long for it rather than ask the server.
	for deadline := time.Now().Add(writeWait); ; {
		cached := &unstructured.Unstructured{}
		cached.SetGroupVersionKind(gvk)
		cached.SetNamespace(key.Namespace)
		cached.SetName(key.Name)
		err := r.cache.cache.Get(ctx, key, cached)
		rv := ""
		switch {
		case apierrors.IsNotFound(err):
		case err != nil, IsStub(cached):
			return r.api.Get(ctx, key, obj)
		default:
			rv = cached.GetResourceVersion()
		}
		if !r.cache.writePending(cached, rv) {
			if err != nil {
				return err
			}
			cached.SetGroupVersionKind(gvk)
			u.Object = cached.Object
			return nil
		}
		if time.Now().After(deadline) {
			return r.api.Get(ctx, key, obj)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(writePoll):
		}
	}
}

// writeWait is how long a read waits for the informer to show this
// process's write before asking the API server; writePoll how often it
// looks.
const (
	writeWait = 250 * time.Millisecond
	writePoll = 5 * time.Millisecond
)

func (r *reader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return r.api.List(ctx, list, opts...)
}

// Wrote records that this process wrote obj (the API server's answer,
// with its new resource version): until the informer shows that version,
// or for WriteTTL, the Reader reads obj from the API server.
func (c *Cache) Wrote(obj client.Object) {
	if obj.GetResourceVersion() == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes[keyOf(obj)] = writeEntry{resourceVersion: obj.GetResourceVersion(), at: c.now()}
}

// writePending reports whether obj was written and the cache still holds
// another version (liveRV; empty when it holds none).
func (c *Cache) writePending(obj client.Object, liveRV string) bool {
	k := keyOf(obj)
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.writes[k]
	switch {
	case !ok:
		return false
	case w.resourceVersion == liveRV || newerVersion(liveRV, w.resourceVersion) || c.now().Sub(w.at) > c.opts.WriteTTL:
		delete(c.writes, k)
		return false
	}
	return true
}

// newerVersion reports whether resource version a is known to come after
// b: both are etcd revisions (decimal integers, as every API server backed
// by etcd writes them) and a is larger. Versions are opaque to clients in
// general, so anything else is not known to be newer. Without it, an
// object changed again right after this process wrote it (its version
// went past the one written) was read from the API server for WriteTTL.
func newerVersion(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	return errA == nil && errB == nil && x > y
}

// Remember records that, for identity (who asked, with which field
// manager), desired with digest was predicted to leave the live object at
// resource version liveRV unchanged, or that applying it produced liveRV.
func (c *Cache) Remember(identity string, desired client.Object, digest, liveRV string) {
	if liveRV == "" || digest == "" {
		return
	}
	c.setMemo(identity, desired, memoEntry{digest: digest, resourceVersion: liveRV})
}

// setMemo records e, stamped now, as identity's memory of desired.
func (c *Cache) setMemo(identity string, desired client.Object, e memoEntry) {
	k := keyOf(desired)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.at, e.identity = c.now(), identity
	c.memo[k] = c.memo[k].set(e)
}

// Unchanged reports whether Remember recorded, within MemoTTL, that
// desired with digest leaves the live object at liveRV as it is: neither
// Git nor anyone else changed it since, so a dry run would say the same.
func (c *Cache) Unchanged(identity string, desired client.Object, digest, liveRV string) bool {
	if liveRV == "" {
		return false
	}
	k := keyOf(desired)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.memo[k].get(identity)
	if !ok || e.predicted != nil || c.now().Sub(e.at) > c.opts.MemoTTL {
		return false
	}
	return e.digest == digest && e.resourceVersion == liveRV
}

// absentTTL is how long a prediction for an object that does not exist
// is trusted: a sync trusts the compare before it for about as long (an
// Argo CD app waiting for an operation processor is compared again when
// one frees), and admission, quotas or RBAC may change meanwhile.
const absentTTL = time.Minute

// RememberAbsent records predicted, the API server's dry-run answer for
// creating desired (with digest), while the object does not exist.
func (c *Cache) RememberAbsent(identity string, desired client.Object, digest string, predicted *unstructured.Unstructured) {
	if digest == "" || predicted == nil {
		return
	}
	compact := predicted.DeepCopy()
	compact.SetManagedFields(nil)
	data, err := compact.MarshalJSON()
	if err != nil {
		return // not remembered: the next compare asks again
	}
	c.setMemo(identity, desired, memoEntry{digest: digest, predicted: data})
}

// PredictedAbsent returns a copy of what RememberAbsent recorded for
// desired with digest within the last minute (without managedFields), or
// nil.
func (c *Cache) PredictedAbsent(identity string, desired client.Object, digest string) *unstructured.Unstructured {
	k := keyOf(desired)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.memo[k].get(identity)
	switch {
	case !ok || e.predicted == nil:
		return nil
	case c.now().Sub(e.at) > absentTTL:
		if m := c.memo[k].without(identity); len(m) > 0 {
			c.memo[k] = m
		} else {
			delete(c.memo, k)
		}
		return nil
	case e.digest != digest:
		return nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(e.predicted); err != nil {
		return nil
	}
	return u
}

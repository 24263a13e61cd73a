package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// readLive reads it as compares see it: through the live cache when the
// engine has one, else from the API server; nil when it does not exist.
func (e *Engine) readLive(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	return liveFrom(ctx, e.reader, it)
}

// liveFrom reads it through r; nil when it does not exist.
func liveFrom(ctx context.Context, r client.Reader, it *item) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(it.obj.GroupVersionKind())
	err := r.Get(ctx, client.ObjectKeyFromObject(it.obj), live)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return live, err
}

// staleLive reports whether live, read from the live cache, is older than
// the object the dry run (predicted) was made against: the dry run answers
// with the server's current resource version, or with none when the
// object does not exist.
func (e *Engine) staleLive(live, predicted *unstructured.Unstructured) bool {
	if e.live == nil || predicted == nil {
		return false
	}
	if live == nil {
		return predicted.GetResourceVersion() != ""
	}
	return predicted.GetResourceVersion() != live.GetResourceVersion()
}

// digest names what a dry run of it is asked: the planned object and how
// it is written. Empty when it cannot be encoded (nothing is remembered).
func (it *item) digest() string {
	if it.sum == "" {
		body, err := json.Marshal(struct {
			Obj              map[string]any
			Replace, Lenient bool
		}{it.obj.Object, it.replace, it.lenient})
		if err != nil {
			return ""
		}
		h := sha256.Sum256(body)
		it.sum = hex.EncodeToString(h[:])
	}
	return it.sum
}

// unchanged reports whether the live cache remembers that it, as planned
// now, leaves live as it is: a dry run would find nothing to do.
func (e *Engine) unchanged(it *item, live *unstructured.Unstructured) bool {
	return e.live != nil && live != nil && e.live.Unchanged(e.memoID, it.obj, it.digest(), live.GetResourceVersion())
}

// remember records that it, as planned now, leaves the live object at
// resourceVersion as it is (a dry run found nothing to do, or applying it
// produced that version).
func (e *Engine) remember(it *item, resourceVersion string) {
	if e.live != nil {
		e.live.Remember(e.memoID, it.obj, it.digest(), resourceVersion)
	}
}

// predictedAbsent returns what the live cache remembers a dry run
// predicted for it, as planned now, while it does not exist; nil when it
// remembers nothing recent (a sync trusts a compare for about as long).
func (e *Engine) predictedAbsent(it *item) *unstructured.Unstructured {
	if e.live == nil {
		return nil
	}
	return e.live.PredictedAbsent(e.memoID, it.obj, it.digest())
}

// rememberAbsent records the dry run's prediction for it, which does not
// exist.
func (e *Engine) rememberAbsent(it *item, predicted *unstructured.Unstructured) {
	if e.live != nil {
		e.live.RememberAbsent(e.memoID, it.obj, it.digest(), predicted)
	}
}

// wrote tells the live cache that obj, the API server's answer to a
// write of it, is the object as it now is.
func (e *Engine) wrote(it *item, obj *unstructured.Unstructured) {
	if e.live == nil {
		return
	}
	e.live.Wrote(obj)
	e.remember(it, obj.GetResourceVersion())
}

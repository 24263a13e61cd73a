package diff

import (
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// LastAppliedAnnotation is kubectl's client-side apply record, which Equal
// leaves out.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// ignoredMetadata are the metadata fields that Equal leaves out: the API
// server sets them and they say nothing about the desired state.
var ignoredMetadata = []string{
	"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink",
}

// Equal reports whether live and predicted are equal for sync status, after
// Normalize. It compares everything except:
//
//   - status (the whole top-level field);
//   - metadata.managedFields, metadata.resourceVersion, metadata.uid,
//     metadata.generation, metadata.creationTimestamp and metadata.selfLink;
//   - the metadata.annotations entry "kubectl.kubernetes.io/last-applied-configuration".
//
// Labels and annotations count, but an absent, null or empty labels or
// annotations map are all the same. Elsewhere a null value equals an empty
// map or list, and numbers compare by value (int64 3 equals float64 3.0).
// Defaults are not applied here: the predicted object is expected to be the
// API server's dry-run result, which already has them. Two nil objects are
// equal; a nil and a non-nil one are not.
func Equal(live, predicted *unstructured.Unstructured) bool {
	if live == nil || predicted == nil {
		return live == nil && predicted == nil
	}
	return valueEqual(forCompare(live.Object), forCompare(predicted.Object))
}

// forCompare returns a shallow copy of obj without the fields Equal leaves
// out; obj itself is not changed.
func forCompare(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			out[k] = v
		}
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return out
	}
	m := make(map[string]any, len(meta))
	for k, v := range meta {
		m[k] = v
	}
	for _, k := range ignoredMetadata {
		delete(m, k)
	}
	if ann, ok := m["annotations"].(map[string]any); ok {
		if _, has := ann[LastAppliedAnnotation]; has {
			a := make(map[string]any, len(ann))
			for k, v := range ann {
				a[k] = v
			}
			delete(a, LastAppliedAnnotation)
			m["annotations"] = a
		}
	}
	for _, k := range []string{"labels", "annotations"} {
		if isEmpty(m[k]) {
			delete(m, k)
		}
	}
	out["metadata"] = m
	return out
}

// valueEqual compares unstructured values semantically: maps by keys and
// values, lists element by element, numbers by value, and null the same as
// an empty map or list.
func valueEqual(a, b any) bool {
	if a == nil || b == nil {
		return isEmpty(a) && isEmpty(b)
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return len(x) == 0 && isEmpty(b)
		}
		if len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !valueEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok {
			return len(x) == 0 && isEmpty(b)
		}
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if eq, isNum := numberEqual(a, b); isNum {
		return eq
	}
	return a == b
}

// isEmpty reports whether v is null, an empty map or an empty list.
func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// numberEqual compares a and b by value when a is a number: integers
// exactly, an integer and a float as floats.
func numberEqual(a, b any) (equal, isNumber bool) {
	ai, aInt := integer(a)
	bi, bInt := integer(b)
	if aInt && bInt {
		return ai == bi, true
	}
	af, aNum := float(a)
	bf, bNum := float(b)
	if !aNum {
		return false, false
	}
	return bNum && af == bf, true
}

func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

func float(v any) (float64, bool) {
	if i, ok := integer(v); ok {
		return float64(i), true
	}
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// Differences lists, as JSON-pointer-like paths, up to limit places where
// live and predicted differ for Equal. It names paths only, never values,
// so it may be logged for any kind, Secrets included.
func Differences(live, predicted *unstructured.Unstructured, limit int) []string {
	if live == nil || predicted == nil {
		if live == predicted {
			return nil
		}
		return []string{"/"}
	}
	var out []string
	differences(forCompare(live.Object), forCompare(predicted.Object), "", limit, &out)
	return out
}

func differences(a, b any, path string, limit int, out *[]string) {
	if len(*out) >= limit || valueEqual(a, b) {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			differences(am[k], bm[k], path+"/"+k, limit, out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			differences(al[i], bl[i], path+"/"+strconv.Itoa(i), limit, out)
		}
		return
	}
	if path == "" {
		path = "/"
	}
	*out = append(*out, path)
}

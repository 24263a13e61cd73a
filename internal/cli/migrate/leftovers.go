package migrate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Warning is one field of an input object that does not carry over, or
// carries over with a different meaning.
type Warning struct {
	// Object names the input object, as "Kind namespace/name".
	Object string
	// Field is the path of the field, such as
	// "spec.syncPolicy.syncOptions[ServerSideApply=true]".
	Field string
	// Message says what happens to the field.
	Message string
}

// String returns the warning as printed on standard error.
func (w Warning) String() string {
	return fmt.Sprintf("warning: %s: %s %s", w.Object, w.Field, w.Message)
}

// leftovers tracks which fields of an input object a mapping used, so
// that every other field that is set can be reported.
type leftovers struct {
	fields  map[string]any
	taken   map[string]bool // paths used whole
	touched map[string]bool // paths some part of which was used
}

func newLeftovers(fields map[string]any) *leftovers {
	return &leftovers{fields: fields, taken: map[string]bool{}, touched: map[string]bool{}}
}

// take marks the field at path (map keys as strings, list indexes as
// ints) as used.
func (l *leftovers) take(path ...any) {
	p := ""
	for _, seg := range path {
		l.touched[p] = true
		p = joinPath(p, seg)
	}
	l.taken[p] = true
}

// takeAll marks several sibling fields under prefix as used.
func (l *leftovers) takeAll(prefix []any, names ...string) {
	for _, n := range names {
		l.take(append(append([]any{}, prefix...), n)...)
	}
}

// remaining returns the paths of the fields that are set and were not
// used, in a stable order. A map or list of which nothing was used is
// reported as one path; a list of scalars reports each value, as
// "syncOptions[Replace=true]".
func (l *leftovers) remaining() []string {
	var out []string
	l.walk("", "", l.fields, &out)
	return out
}

func (l *leftovers) walk(key, shown string, v any, out *[]string) {
	if l.taken[key] || isZero(v) {
		return
	}
	if key != "" && !l.touched[key] {
		if list, ok := v.([]any); ok && scalars(list) {
			for _, e := range list {
				if !isZero(e) {
					*out = append(*out, fmt.Sprintf("%s[%v]", shown, e))
				}
			}
			return
		}
		*out = append(*out, shown)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			l.walk(joinPath(key, k), joinPath(shown, k), x[k], out)
		}
	case []any:
		for i, e := range x {
			s := joinPath(shown, i)
			if !isMapOrList(e) {
				s = fmt.Sprintf("%s[%v]", shown, e)
			}
			l.walk(joinPath(key, i), s, e, out)
		}
	default:
		*out = append(*out, shown)
	}
}

// joinPath appends a map key or a list index to a field path. Keys that
// hold dots or slashes (label keys) are written in brackets.
func joinPath(p string, seg any) string {
	switch s := seg.(type) {
	case int:
		return p + "[" + strconv.Itoa(s) + "]"
	case string:
		if strings.ContainsAny(s, "./") {
			return p + "[" + s + "]"
		}
		if p == "" {
			return s
		}
		return p + "." + s
	}
	panic(fmt.Sprintf("path segment %T", seg))
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case float64:
		return x == 0
	case map[string]any:
		for _, e := range x {
			if !isZero(e) {
				return false
			}
		}
		return true
	case []any:
		return len(x) == 0
	}
	return false
}

func isMapOrList(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func scalars(list []any) bool {
	for _, e := range list {
		if isMapOrList(e) {
			return false
		}
	}
	return true
}

// serverFields are metadata fields the API server fills in; they are not
// part of what the user wrote and are left out without a warning.
var serverFields = []string{"uid", "resourceVersion", "generation", "creationTimestamp",
	"managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// takeMeta marks the metadata that every mapping carries over or that the
// API server owns, and status, which is observed rather than desired.
func (l *leftovers) takeMeta() {
	l.takeAll([]any{"metadata"}, "name", "namespace", "labels", "annotations")
	l.takeAll([]any{"metadata"}, serverFields...)
	l.takeAll(nil, "apiVersion", "kind", "status")
}

// copyAnnotations returns the annotations worth carrying to the other
// dialect: all but kubectl's record of the last applied object.
func copyAnnotations(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		if k == "kubectl.kubernetes.io/last-applied-configuration" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

package diff

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// protectedPaths are never removed for a manager that owns them: an object
// without them could no longer be matched against rules or compared.
var protectedPaths = [][]any{
	{"apiVersion"}, {"kind"}, {"metadata", "name"}, {"metadata", "namespace"},
}

// ownedFields returns the union of the field sets that managers own in
// obj's metadata.managedFields (every entry whose manager name is listed,
// whatever its operation or subresource, as in Argo CD).
func ownedFields(obj *unstructured.Unstructured, managers []string) (*fieldpath.Set, error) {
	owned := &fieldpath.Set{}
	for _, mf := range obj.GetManagedFields() {
		if !slices.Contains(managers, mf.Manager) || mf.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("managedFields of manager %q: %w", mf.Manager, err)
		}
		owned = owned.Union(set)
	}
	return owned, nil
}

// removal is one concrete place to clear in an object: a path of map keys
// (string) and list indexes (int). ifEmpty marks a list element that the
// managers own as a whole and that goes only when nothing else is left in it.
type removal struct {
	path    []any
	ifEmpty bool
}

// removeOwned removes from obj the leaf fields of owned. A list element the
// managers own as a whole (a "." entry next to its fields) goes too when
// removing those fields leaves it empty, so that an element a controller
// added (say, an injected sidecar container) does not linger as {}.
//
// Every path is resolved against obj before anything is removed, because a
// keyed list element is found by fields that the same set may remove.
func removeOwned(obj map[string]any, owned *fieldpath.Set) {
	leaves := owned.Leaves()
	byKey := map[string]removal{}
	add := func(p fieldpath.Path, ifEmpty bool) {
		at, ok := resolve(obj, p)
		if !ok || isProtected(at) {
			return
		}
		k := pathKey(at)
		if prev, seen := byKey[k]; seen && !prev.ifEmpty {
			return // a plain removal wins over a conditional one
		}
		byKey[k] = removal{path: at, ifEmpty: ifEmpty}
	}
	leaves.Iterate(func(p fieldpath.Path) { add(p, false) })
	owned.Iterate(func(p fieldpath.Path) {
		if len(p) > 0 && p[len(p)-1].FieldName == nil && !leaves.Has(p) {
			add(p, true)
		}
	})

	todo := make([]removal, 0, len(byKey))
	for _, r := range byKey {
		todo = append(todo, r)
	}
	// Deepest and highest-indexed first: removing a list element then never
	// shifts an index that a removal still to come relies on.
	slices.SortFunc(todo, func(a, b removal) int { return -comparePaths(a.path, b.path) })
	for _, r := range todo {
		removeConcrete(obj, r.path, r.ifEmpty)
	}
}

// resolve follows a field path through unstructured content and returns the
// concrete path it names, or false when obj has nothing there.
func resolve(obj map[string]any, p fieldpath.Path) ([]any, bool) {
	var node any = obj
	at := make([]any, 0, len(p))
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			m, ok := node.(map[string]any)
			if !ok {
				return nil, false
			}
			if node, ok = m[*pe.FieldName]; !ok {
				return nil, false
			}
			at = append(at, *pe.FieldName)
		default:
			l, ok := node.([]any)
			if !ok {
				return nil, false
			}
			i := findElement(l, pe)
			if i < 0 {
				return nil, false
			}
			node = l[i]
			at = append(at, i)
		}
	}
	return at, len(at) > 0
}

// findElement returns the index in l of the element pe selects, or -1.
func findElement(l []any, pe fieldpath.PathElement) int {
	switch {
	case pe.Index != nil:
		if *pe.Index >= 0 && *pe.Index < len(l) {
			return *pe.Index
		}
	case pe.Value != nil:
		want := (*pe.Value).Unstructured()
		for i, e := range l {
			if valueEqual(e, want) {
				return i
			}
		}
	case pe.Key != nil:
		for i, e := range l {
			if m, ok := e.(map[string]any); ok && keyMatches(m, *pe.Key) {
				return i
			}
		}
	}
	return -1
}

// keyMatches reports whether element m has every key field of keys.
func keyMatches(m map[string]any, keys value.FieldList) bool {
	for _, f := range keys {
		got, ok := m[f.Name]
		if !ok || !valueEqual(got, f.Value.Unstructured()) {
			return false
		}
	}
	return true
}

func isProtected(at []any) bool {
	for _, p := range protectedPaths {
		if comparePaths(p, at) == 0 {
			return true
		}
	}
	return false
}

// comparePaths orders concrete paths element by element (indexes as numbers,
// keys as strings), a path before the longer paths it prefixes.
func comparePaths(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ai, aInt := a[i].(int)
		bi, bInt := b[i].(int)
		switch {
		case aInt && bInt:
			if ai != bi {
				return ai - bi
			}
		case aInt != bInt: // cannot happen within one container; order keys first
			if aInt {
				return 1
			}
			return -1
		default:
			if c := cmpString(a[i].(string), b[i].(string)); c != 0 {
				return c
			}
		}
	}
	return len(a) - len(b)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// removeConcrete removes the value at path; with ifEmpty, only when it is an
// empty map.
func removeConcrete(obj map[string]any, path []any, ifEmpty bool) {
	parentPath, last := path[:len(path)-1], path[len(path)-1]
	parent, ok := lookup(obj, parentPath)
	if !ok {
		return
	}
	if ifEmpty {
		target, found := lookup(parent, []any{last})
		if m, isMap := target.(map[string]any); !found || !isMap || len(m) > 0 {
			return
		}
	}
	switch p := parent.(type) {
	case map[string]any:
		if k, isKey := last.(string); isKey {
			delete(p, k)
		}
	case []any:
		i, isIndex := last.(int)
		if !isIndex || i >= len(p) {
			return
		}
		shorter := append(p[:i:i], p[i+1:]...)
		if len(parentPath) == 0 {
			return // the object itself is a map, never a list
		}
		grand, _ := lookup(obj, parentPath[:len(parentPath)-1])
		switch g := grand.(type) {
		case map[string]any:
			g[parentPath[len(parentPath)-1].(string)] = shorter
		case []any:
			g[parentPath[len(parentPath)-1].(int)] = shorter
		}
	}
}

// lookup follows a concrete path from node.
func lookup(node any, path []any) (any, bool) {
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := node.(map[string]any)
			if !ok {
				return nil, false
			}
			if node, ok = m[s]; !ok {
				return nil, false
			}
		case int:
			l, ok := node.([]any)
			if !ok || s < 0 || s >= len(l) {
				return nil, false
			}
			node = l[s]
		}
	}
	return node, true
}

// pathKey renders a concrete path as a map key that tells the key "0" from
// the index 0 and "a/b" from "a", "b".
func pathKey(at []any) string {
	var b strings.Builder
	for _, step := range at {
		switch s := step.(type) {
		case string:
			b.WriteString(strconv.Quote(s))
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return b.String()
}

package redact

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Mask replaces every known value in a message.
const Mask = "***"

// DefaultMin is the shortest value masked when Values.Min is zero:
// shorter ones would mask ordinary text all over a message while hiding
// next to nothing.
const DefaultMin = 3

// Values is a set of strings that must never appear in a message. The
// zero value is an empty set that masks values of DefaultMin bytes or
// more. Add values before use: the Add methods must not run concurrently
// with each other or with String, Error and Len, which are safe for
// concurrent use. Methods other than the Add methods accept a nil *Values,
// which masks nothing.
type Values struct {
	// Min is the shortest value masked, in bytes; 0 means DefaultMin. Set
	// it before adding values: shorter values are dropped when added.
	Min int

	list []string // longest first, then in byte order; no duplicates
	seen map[string]bool
}

// New returns a set holding values, with the default minimum length.
func New(values ...string) *Values {
	v := &Values{}
	v.Add(values...)
	return v
}

// Add adds values as they are. Values shorter than the minimum, and
// values made only of '*' (which the mask itself would show again), are
// left out.
func (v *Values) Add(values ...string) {
	added := false
	for _, s := range values {
		if len(s) < v.min() || strings.Trim(s, "*") == "" || v.seen[s] {
			continue
		}
		if v.seen == nil {
			v.seen = map[string]bool{}
		}
		v.seen[s] = true
		v.list = append(v.list, s)
		added = true
	}
	if added {
		sort.Slice(v.list, func(i, j int) bool {
			if len(v.list[i]) != len(v.list[j]) {
				return len(v.list[i]) > len(v.list[j])
			}
			return v.list[i] < v.list[j]
		})
	}
}

// AddWithBase64 adds each value and its standard base64 encoding, the
// form a Secret's data holds it in.
func (v *Values) AddWithBase64(values ...string) {
	for _, s := range values {
		if s == "" {
			continue
		}
		v.Add(s, base64.StdEncoding.EncodeToString([]byte(s)))
	}
}

// AddSecretData adds the values of a Secret's data (as a typed Secret
// holds them, decoded), each also base64-encoded.
func (v *Values) AddSecretData(data map[string][]byte) {
	for _, b := range data {
		v.AddWithBase64(string(b))
	}
}

// AddSecret adds the values of the unstructured Secret u: those of data
// as written (base64) and decoded, those of stringData as written and
// encoded.
func (v *Values) AddSecret(u *unstructured.Unstructured) {
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	for _, s := range data {
		v.Add(s)
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			v.Add(string(b))
		}
	}
	stringData, _, _ := unstructured.NestedStringMap(u.Object, "stringData")
	v.AddWithBase64(slices.Collect(maps.Values(stringData))...)
}

// AddYAMLLeaves adds every string leaf of the YAML or JSON document data
// (as Helm values taken from a Secret), each also base64-encoded since a
// chart may put it in a Secret's data. Keys and non-string leaves are
// not added. It fails, adding nothing, when data does not parse.
func (v *Values) AddYAMLLeaves(data []byte) error {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("read values to mask: %w", err)
	}
	var leaves []string
	var walk func(any)
	walk = func(n any) {
		switch t := n.(type) {
		case map[string]any:
			for _, c := range t {
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		case string:
			leaves = append(leaves, t)
		}
	}
	walk(doc)
	v.AddWithBase64(leaves...)
	return nil
}

// Len is how many distinct values the set masks.
func (v *Values) Len() int {
	if v == nil {
		return 0
	}
	return len(v.list)
}

// String returns s with every value of the set replaced by Mask. It
// repeats until no value is left, since a replacement may join the mask
// with the text around it into a value again ("a*" + Mask holds "a**").
func (v *Values) String(s string) string {
	if v == nil {
		return s
	}
	for changed := true; changed; {
		changed = false
		for _, val := range v.list {
			if strings.Contains(s, val) {
				s = strings.ReplaceAll(s, val, Mask)
				changed = true
			}
		}
	}
	return s
}

// Error returns err when its message holds no value of the set (nil stays
// nil), else a new error with the message masked. The new error does not
// wrap err: errors.Unwrap, errors.As and %+v never reach the original
// text.
func (v *Values) Error(err error) error {
	if err == nil || v.Len() == 0 {
		return err
	}
	msg := err.Error()
	if masked := v.String(msg); masked != msg {
		return errors.New(masked)
	}
	return err
}

// min is the shortest value masked.
func (v *Values) min() int {
	if v.Min > 0 {
		return v.Min
	}
	return DefaultMin
}

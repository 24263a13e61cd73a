package helm

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// yamlMap parses a YAML document as the code under test does (numbers
// become float64).
func yamlMap(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func TestMergeMaps(t *testing.T) {
	tests := []struct {
		name    string
		a, b    string
		want    string
		wantNil bool
	}{
		{name: "both empty", a: "{}", b: "{}", want: "{}"},
		{name: "b adds keys", a: "x: 1", b: "z: 2", want: "{x: 1, z: 2}"},
		{name: "b wins on scalars", a: "x: 1", b: "x: 2", want: "x: 2"},
		{name: "maps merge deeply", a: "m: {x: 1, n: {p: 1, q: 1}}", b: "m: {z: 2, n: {q: 2}}", want: "m: {x: 1, z: 2, n: {p: 1, q: 2}}"},
		{name: "lists are replaced", a: "l: [1, 2, 3]", b: "l: [4]", want: "l: [4]"},
		{name: "a map replaces a scalar", a: "x: 1", b: "x: {z: 2}", want: "x: {z: 2}"},
		{name: "a scalar replaces a map", a: "x: {z: 2}", b: "x: 1", want: "x: 1"},
		{name: "null in b replaces", a: "x: 1", b: "x: null", want: "x: null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := yamlMap(t, tt.a), yamlMap(t, tt.b)
			aBefore, bBefore := yamlMap(t, tt.a), yamlMap(t, tt.b)
			got := MergeMaps(a, b)
			if want := yamlMap(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("MergeMaps = %v, want %v", got, want)
			}
			if !reflect.DeepEqual(a, aBefore) || !reflect.DeepEqual(b, bBefore) {
				t.Errorf("MergeMaps changed its inputs: a %v (was %v), b %v (was %v)", a, aBefore, b, bBefore)
			}
		})
	}
	t.Run("nil inputs", func(t *testing.T) {
		if got := MergeMaps(nil, nil); got == nil || len(got) != 0 {
			t.Errorf("MergeMaps(nil, nil) = %#v, want an empty map", got)
		}
		if got := MergeMaps(nil, map[string]any{"x": 1}); !reflect.DeepEqual(got, map[string]any{"x": 1}) {
			t.Errorf("MergeMaps(nil, b) = %v", got)
		}
	})
}

func TestComposeValues(t *testing.T) {
	src := func(desc, data string) ValuesSource { return ValuesSource{Description: desc, Data: []byte(data)} }
	target := func(path, data string) ValuesSource {
		return ValuesSource{Description: "ConfigMap default/v key " + path, Data: []byte(data), TargetPath: path}
	}
	tests := []struct {
		name    string
		from    []ValuesSource
		values  string
		want    map[string]any
		wantErr string
	}{
		{name: "nothing", want: map[string]any{}},
		{
			name: "valuesFrom merged in order, later wins, maps deep, lists replaced",
			from: []ValuesSource{
				src("first", "a: 1\nm: {p: 1, q: 1}\nl: [1, 2]\nkeep: kept"),
				src("second", "a: 2\nm: {q: 2, r: 2}\nl: [3]"),
			},
			want: map[string]any{"a": 2.0, "m": map[string]any{"p": 1.0, "q": 2.0, "r": 2.0}, "l": []any{3.0}, "keep": "kept"},
		},
		{
			name:   "inline values win over references",
			from:   []ValuesSource{src("ref", "a: 1\nm: {p: 1, q: 1}")},
			values: "a: inline\nm: {q: 2}",
			want:   map[string]any{"a": "inline", "m": map[string]any{"p": 1.0, "q": 2.0}},
		},
		{
			name:   "an empty reference changes nothing",
			from:   []ValuesSource{src("empty", ""), src("comment", "# nothing\n")},
			values: "a: 1",
			want:   map[string]any{"a": 1.0},
		},
		{
			name:   "targetPath sets a value and wins over inline values",
			from:   []ValuesSource{target("image.tag", "v2")},
			values: "image: {repository: r, tag: v1}",
			want:   map[string]any{"image": map[string]any{"repository": "r", "tag": "v2"}},
		},
		{
			name: "targetPath wins over a later reference",
			from: []ValuesSource{target("image.tag", "v2"), src("later", "image: {tag: v3}")},
			want: map[string]any{"image": map[string]any{"tag": "v2"}},
		},
		{
			name: "targetPath creates the path",
			from: []ValuesSource{target("a.b.c", "x")},
			want: map[string]any{"a": map[string]any{"b": map[string]any{"c": "x"}}},
		},
		{name: "unquoted number becomes a number", from: []ValuesSource{target("n", "123")}, want: map[string]any{"n": int64(123)}},
		{name: "single-quoted number stays a string", from: []ValuesSource{target("n", "'123'")}, want: map[string]any{"n": "123"}},
		{name: "double-quoted number stays a string", from: []ValuesSource{target("n", `"123"`)}, want: map[string]any{"n": "123"}},
		{name: "unquoted bool becomes a bool", from: []ValuesSource{target("b", "true")}, want: map[string]any{"b": true}},
		{name: "quoted bool stays a string", from: []ValuesSource{target("b", "'true'")}, want: map[string]any{"b": "true"}},
		{name: "trailing newline of a key is ignored", from: []ValuesSource{target("s", "'abc'\n")}, want: map[string]any{"s": "abc"}},
		{name: "plain string", from: []ValuesSource{target("s", "hello")}, want: map[string]any{"s": "hello"}},
		{name: "list index in the path", from: []ValuesSource{target("servers[0].port", "80")}, want: map[string]any{"servers": []any{map[string]any{"port": int64(80)}}}},
		{name: "escaped dot in the path", from: []ValuesSource{target(`annotations.example\.com/x`, "y")}, want: map[string]any{"annotations": map[string]any{"example.com/x": "y"}}},
		{
			name:    "invalid YAML names the source",
			from:    []ValuesSource{src("ok", "a: 1"), src("ConfigMap default/bad key values.yaml", "a: [1, 2")},
			wantErr: "ConfigMap default/bad key values.yaml",
		},
		{
			name:    "a YAML list is not values",
			from:    []ValuesSource{src("Secret default/list key values.yaml", "- a\n- b\n")},
			wantErr: "Secret default/list key values.yaml",
		},
		{
			name:    "bad target path names the source and the path",
			from:    []ValuesSource{target("a[x]", "1")},
			wantErr: "ConfigMap default/v key a[x]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var values map[string]any
			if tt.values != "" {
				values = yamlMap(t, tt.values)
			}
			got, err := ComposeValues(tt.from, values)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ComposeValues = %v, want an error", got)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not name %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ComposeValues: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ComposeValues = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestComposeValuesKeepsInputs: composing values must not change the
// caller's inline values (the HelmRelease's spec).
func TestComposeValuesKeepsInputs(t *testing.T) {
	tests := []struct {
		name   string
		from   []ValuesSource
		values string
	}{
		{
			name:   "reference merged into inline maps",
			from:   []ValuesSource{{Description: "ref", Data: []byte("image: {pullPolicy: Always}")}},
			values: "image: {repository: r, tag: v1}",
		},
		{
			name:   "targetPath into an inline map",
			from:   []ValuesSource{{Description: "ref", Data: []byte("v2"), TargetPath: "image.tag"}},
			values: "image: {repository: r, tag: v1}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := yamlMap(t, tt.values)
			before := yamlMap(t, tt.values)
			if _, err := ComposeValues(tt.from, values); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(values, before) {
				t.Errorf("ComposeValues changed the inline values: %v, was %v", values, before)
			}
		})
	}
}

func TestSetValue(t *testing.T) {
	tests := []struct {
		name, path, value string
		forceString       bool
		start             map[string]any
		want              map[string]any
		wantErr           bool
	}{
		{name: "number as --set", path: "a.b", value: "1", want: map[string]any{"a": map[string]any{"b": int64(1)}}},
		{name: "number as --set-string", path: "a.b", value: "1", forceString: true, want: map[string]any{"a": map[string]any{"b": "1"}}},
		{name: "bool as --set", path: "on", value: "true", want: map[string]any{"on": true}},
		{name: "null", path: "x", value: "null", want: map[string]any{"x": nil}},
		{name: "list", path: "l", value: "{a,b}", want: map[string]any{"l": []any{"a", "b"}}},
		{name: "into existing maps", path: "image.tag", value: "v2", start: map[string]any{"image": map[string]any{"repository": "r"}}, want: map[string]any{"image": map[string]any{"repository": "r", "tag": "v2"}}},
		{name: "bad index", path: "a[x]", value: "1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := tt.start
			if dest == nil {
				dest = map[string]any{}
			}
			err := SetValue(dest, tt.path, tt.value, tt.forceString)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("SetValue = %v, want an error", dest)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetValue: %v", err)
			}
			if !reflect.DeepEqual(dest, tt.want) {
				t.Errorf("SetValue = %#v, want %#v", dest, tt.want)
			}
		})
	}
}

package e2e

import (
	"reflect"
	"testing"
)

func TestDroppedFields(t *testing.T) {
	tests := []struct {
		name string
		want map[string]any
		got  map[string]any
		out  []string
	}{
		{
			name: "extras on the server are fine",
			want: map[string]any{"spec": map[string]any{"a": "x", "n": int64(2)}},
			got:  map[string]any{"spec": map[string]any{"a": "x", "n": float64(2), "timeout": "60s"}, "status": map[string]any{}},
		},
		{
			name: "a dropped field is named",
			want: map[string]any{"spec": map[string]any{"ignore": "/*", "url": "u"}},
			got:  map[string]any{"spec": map[string]any{"url": "u"}},
			out:  []string{".spec.ignore: dropped"},
		},
		{
			name: "a changed value in a list is named",
			want: map[string]any{"l": []any{map[string]any{"k": "a"}}},
			got:  map[string]any{"l": []any{map[string]any{"k": "b"}}},
			out:  []string{".l[0].k: want a, got b"},
		},
		{
			name: "a shortened list is named",
			want: map[string]any{"l": []any{"a", "b"}},
			got:  map[string]any{"l": []any{"a"}},
			out:  []string{".l: want a list of 2, got [a]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := droppedFields(tt.want, tt.got, ""); !reflect.DeepEqual(got, tt.out) {
				t.Fatalf("droppedFields = %q, want %q", got, tt.out)
			}
		})
	}
}

func TestSecretAsStored(t *testing.T) {
	in := map[string]any{"kind": "Secret", "stringData": map[string]any{"name": "prod"}}
	want := map[string]any{"kind": "Secret", "data": map[string]any{"name": "cHJvZA=="}}
	if got := secretAsStored(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("secretAsStored = %v, want %v", got, want)
	}
}

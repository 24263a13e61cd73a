package diff

import (
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func withAnnotation(key, value string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	u.SetName("c")
	if value != "" {
		u.SetAnnotations(map[string]string{key: value})
	}
	return u
}

func TestParseCompareOptions(t *testing.T) {
	tests := []struct {
		value string
		want  CompareOptions
		ssd   bool // UseServerSideDiff(false)
		ssdOn bool // UseServerSideDiff(true)
	}{
		{"", CompareOptions{}, false, true},
		{"IgnoreExtraneous", CompareOptions{IgnoreExtraneous: true}, false, true},
		{" IgnoreExtraneous , ServerSideDiff=true,IncludeMutationWebhook=true",
			CompareOptions{IgnoreExtraneous: true, ServerSideDiff: true, IncludeMutationWebhook: true}, true, true},
		{"ServerSideDiff=false", CompareOptions{ServerSideDiffDisabled: true}, false, false},
		{"ServerSideDiff=true,ServerSideDiff=false",
			CompareOptions{ServerSideDiff: true, ServerSideDiffDisabled: true}, false, false},
		{"ignoreextraneous,serversidediff=true", CompareOptions{}, false, true},
		{"IncludeMutationWebhook", CompareOptions{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got := ParseCompareOptions(withAnnotation(CompareOptionsAnnotation, tt.value))
			got.values = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCompareOptions(%q) = %+v, want %+v", tt.value, got, tt.want)
			}
			if got.UseServerSideDiff(false) != tt.ssd || got.UseServerSideDiff(true) != tt.ssdOn {
				t.Errorf("UseServerSideDiff(false, true) = %v, %v, want %v, %v",
					got.UseServerSideDiff(false), got.UseServerSideDiff(true), tt.ssd, tt.ssdOn)
			}
		})
	}
}

func TestParseOptionsFromMissingObject(t *testing.T) {
	var missing *unstructured.Unstructured
	if got := ParseCompareOptions(missing); got.IgnoreExtraneous || got.Has("IgnoreExtraneous") {
		t.Errorf("options of a missing object: %+v", got)
	}
	if got := ParseSyncOptions(nil).List(); len(got) != 0 {
		t.Errorf("sync options of a nil object: %v", got)
	}
}

func TestCompareOptionsHas(t *testing.T) {
	o := ParseCompareOptions(withAnnotation(CompareOptionsAnnotation, "IgnoreExtraneous,Future=1"))
	if !o.Has("Future=1") || o.Has("Future") {
		t.Errorf("Has: %+v", o)
	}
}

func TestSyncOptions(t *testing.T) {
	app := NewSyncOptions([]string{"CreateNamespace=true", "ServerSideApply=true", "PrunePropagationPolicy=foreground", " Prune=false"})
	res := ParseSyncOptions(withAnnotation(SyncOptionsAnnotation, "ServerSideApply=false, Replace=true,,Replace=true"))

	tests := []struct {
		name   string
		opts   SyncOptions
		has    []string
		hasNot []string
		values map[string]string // "" value: absent
	}{
		{
			name:   "application list",
			opts:   app,
			has:    []string{"CreateNamespace=true", "ServerSideApply=true", "PrunePropagationPolicy=foreground"},
			hasNot: []string{"createnamespace=true", "CreateNamespace=True", "Prune=false", "CreateNamespace"},
			values: map[string]string{"PrunePropagationPolicy": "foreground", "ServerSideApply": "true", "Prune": ""},
		},
		{
			name:   "annotation",
			opts:   res,
			has:    []string{"ServerSideApply=false", "Replace=true"},
			hasNot: []string{"CreateNamespace=true", ""},
			values: map[string]string{"Replace": "true", "CreateNamespace": ""},
		},
		{
			name:   "annotation over application",
			opts:   app.Override(res),
			has:    []string{"ServerSideApply=false", "Replace=true", "CreateNamespace=true", "PrunePropagationPolicy=foreground"},
			hasNot: []string{"ServerSideApply=true"},
			values: map[string]string{"ServerSideApply": "false", "PrunePropagationPolicy": "foreground"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, o := range tt.has {
				if !tt.opts.Has(o) {
					t.Errorf("Has(%q) = false in %v", o, tt.opts.List())
				}
			}
			for _, o := range tt.hasNot {
				if tt.opts.Has(o) {
					t.Errorf("Has(%q) = true in %v", o, tt.opts.List())
				}
			}
			for k, want := range tt.values {
				got, ok := tt.opts.Value(k)
				if ok != (want != "") || got != want {
					t.Errorf("Value(%q) = %q, %v; want %q", k, got, ok, want)
				}
			}
		})
	}
	if got, want := res.List(), []string{"ServerSideApply=false", "Replace=true"}; !slices.Equal(got, want) {
		t.Errorf("annotation list = %q, want %q", got, want)
	}
}

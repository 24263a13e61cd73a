package server

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func secret(data map[string]any, stringData map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "annotations": map[string]any{lastApplied: `{"data":{"password":"c2VjcmV0"}}`}}}}
	if data != nil {
		o.Object["data"] = data
	}
	if stringData != nil {
		o.Object["stringData"] = stringData
	}
	return o
}

func TestMaskSecrets(t *testing.T) {
	desired := secret(nil, map[string]any{"password": "secret", "user": "admin"})
	live := secret(map[string]any{"password": "b2xk", "user": "YWRtaW4="}, nil) // "old", "admin"
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "visible"}}}
	maskSecrets(desired, live, nil, cm)

	for _, o := range []*unstructured.Unstructured{desired, live} {
		raw, _ := json.Marshal(o.Object)
		for _, leak := range []string{"secret", "c2VjcmV0", "b2xk", "YWRtaW4=", "admin\""} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("masked object still holds %q: %s", leak, raw)
			}
		}
		if _, found := o.GetAnnotations()[lastApplied]; found {
			t.Error("last-applied-configuration kept")
		}
	}
	get := func(o *unstructured.Unstructured, k string) string {
		v, _, _ := unstructured.NestedString(o.Object, "data", k)
		return v
	}
	if get(desired, "user") != get(live, "user") {
		t.Errorf("equal values masked differently: %q vs %q", get(desired, "user"), get(live, "user"))
	}
	if get(desired, "password") == get(live, "password") {
		t.Error("different values masked the same: a diff would not show the change")
	}
	if get(desired, "password") != "++++++++" || get(live, "password") != "++++++++++++" {
		t.Errorf("masks = %q, %q; want 8 then 12 '+'", get(desired, "password"), get(live, "password"))
	}
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "k"); v != "visible" {
		t.Error("a ConfigMap was masked")
	}
}

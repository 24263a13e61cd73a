package diff

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestMaskSecretsKeepsWhichKeysChanged(t *testing.T) {
	secret := func(data, stringData map[string]any) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "db", "annotations": map[string]any{LastAppliedAnnotation: `{"data":{"password":"c2VjcmV0"}}`}}}}
		if data != nil {
			o.Object["data"] = data
		}
		if stringData != nil {
			o.Object["stringData"] = stringData
		}
		return o
	}
	desired := secret(nil, map[string]any{"password": "secret", "user": "admin"})
	live := secret(map[string]any{"password": "b2xk", "user": "YWRtaW4="}, nil)
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "visible"}}}
	MaskSecrets(desired, live, nil, cm)
	for _, o := range []*unstructured.Unstructured{desired, live} {
		raw, _ := json.Marshal(o.Object)
		for _, leak := range []string{"secret", "c2VjcmV0", "b2xk", "YWRtaW4=", "admin\"", "stringData", LastAppliedAnnotation} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("masked object still holds %q: %s", leak, raw)
			}
		}
	}
	get := func(o *unstructured.Unstructured, k string) string {
		v, _, _ := unstructured.NestedString(o.Object, "data", k)
		return v
	}
	if get(desired, "user") != "++++++++" || get(live, "user") != "++++++++" {
		t.Errorf("equal values masked %q and %q", get(desired, "user"), get(live, "user"))
	}
	if get(desired, "password") != "++++++++" || get(live, "password") != "++++++++++++" {
		t.Errorf("different values masked %q and %q; want 8 then 12 '+'", get(desired, "password"), get(live, "password"))
	}
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "k"); v != "visible" {
		t.Error("a ConfigMap was masked")
	}
}

package diff

import (
	"encoding/base64"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MaskSecrets replaces the values of Secrets' data (and stringData) with
// runs of '+', as Argo CD shows them: equal values get the same mask in
// every copy given (desired, live, predicted), so a diff still shows
// which keys changed, and a different value a longer mask (8, 12, 16,
// ... characters). kubectl's last-applied annotation (LastAppliedAnnotation), which holds
// a whole copy of the object (CVE-2023-40029), is removed. Objects
// that are not core Secrets, and nil ones, are left alone. The API server
// masks what it returns with it, and the CLI what it prints.
func MaskSecrets(objs ...*unstructured.Unstructured) {
	masks := map[string]map[string]string{} // key -> value -> mask
	for _, o := range objs {
		if o == nil || o.GetKind() != "Secret" || (o.GetAPIVersion() != "v1" && o.GetAPIVersion() != "") {
			continue
		}
		data, _, _ := unstructured.NestedMap(o.Object, "data")
		if data == nil {
			data = map[string]any{}
		}
		if plain, _, _ := unstructured.NestedMap(o.Object, "stringData"); plain != nil {
			for k, v := range plain {
				if s, ok := v.(string); ok {
					data[k] = base64.StdEncoding.EncodeToString([]byte(s))
				}
			}
			unstructured.RemoveNestedField(o.Object, "stringData")
		}
		for k, v := range data {
			value, _ := v.(string)
			if masks[k] == nil {
				masks[k] = map[string]string{}
			}
			mask, ok := masks[k][value]
			if !ok {
				mask = strings.Repeat("+", 8+4*len(masks[k]))
				masks[k][value] = mask
			}
			data[k] = mask
		}
		if len(data) > 0 {
			_ = unstructured.SetNestedMap(o.Object, data, "data")
		}
		if ann := o.GetAnnotations(); ann[LastAppliedAnnotation] != "" {
			delete(ann, LastAppliedAnnotation)
			o.SetAnnotations(ann)
		}
	}
}

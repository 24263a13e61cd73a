package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Object is one object of a rendered chart and the template it came from
// ("podinfo/templates/deployment.yaml").
type Object struct {
	Obj    *unstructured.Unstructured
	Source string
}

// Objects splits a rendered manifest stream (as Template returns it) into
// objects, each with the template named by Helm's "# Source:" comment.
func Objects(manifest string) ([]Object, error) {
	var out []Object
	for _, doc := range splitDocuments(manifest) {
		source := ""
		for line := range strings.SplitSeq(doc, "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
				source = s
				break
			}
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(doc)), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				where := source
				if where == "" {
					where = "the rendered manifest"
				}
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, where, err)
			}
			if len(m) == 0 {
				continue
			}
			out = append(out, Object{Obj: &unstructured.Unstructured{Object: m}, Source: source})
		}
	}
	return out, nil
}

// splitDocuments splits a YAML stream at its "---" separator lines.
func splitDocuments(s string) []string {
	var docs []string
	var cur strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	return append(docs, cur.String())
}

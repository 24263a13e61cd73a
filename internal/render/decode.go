package render

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file and the line it starts on.
type document struct {
	data []byte
	line int
}

// splitDocuments cuts a YAML stream at "---" lines (a separator may carry
// a trailing comment), remembering where each document starts.
func splitDocuments(data []byte) []document {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var docs []document
	cur := document{line: 1}
	var buf bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if isSeparator(text) {
			cur.data = bytes.Clone(buf.Bytes())
			docs = append(docs, cur)
			buf.Reset()
			cur = document{line: line + 1}
			continue
		}
		buf.WriteString(text)
		buf.WriteByte('\n')
	}
	cur.data = buf.Bytes()
	return append(docs, cur)
}

func isSeparator(line string) bool {
	rest, ok := strings.CutPrefix(line, "---")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	return rest == "" || strings.HasPrefix(rest, "#")
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlError rewrites a YAML error of the document starting on line start
// so that it names the file and the line in the file.
func yamlError(name string, start int, err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		return "line " + strconv.Itoa(n+start-1)
	})
	return fmt.Errorf("%s: %s", name, msg)
}

// decodeManifests returns the Kubernetes objects in a YAML or JSON file:
// documents without apiVersion and kind (values files, CI configs) are
// skipped, and lists (kind: List or *List with items) are expanded.
// Invalid YAML is an error naming the file and line, except, as Argo CD
// does, in a file that does not look like a manifest at all.
func decodeManifests(name string, data []byte, lenient bool) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, doc := range splitDocuments(data) {
		j, err := yaml.YAMLToJSON(doc.data)
		if err != nil {
			if lenient && !looksLikeManifest(data) {
				return nil, nil
			}
			return nil, yamlError(name, doc.line, err)
		}
		var v any
		if err := utiljson.Unmarshal(j, &v); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", name, doc.line, err)
		}
		found, err := objectsIn(v)
		if err != nil {
			return nil, fmt.Errorf("%s: document at line %d: %w", name, doc.line, err)
		}
		objs = append(objs, found...)
	}
	return objs, nil
}

func looksLikeManifest(data []byte) bool {
	return bytes.Contains(data, []byte("apiVersion:")) && bytes.Contains(data, []byte("kind:")) &&
		bytes.Contains(data, []byte("metadata:"))
}

// objectsIn returns the object that v is, the items of the list that v
// is, or nothing when v is not a Kubernetes object.
func objectsIn(v any) ([]*unstructured.Unstructured, error) {
	m, ok := v.(map[string]any)
	if !ok || !isObject(m) {
		return nil, nil
	}
	u := &unstructured.Unstructured{Object: m}
	items, isList := m["items"].([]any)
	if !isList || !strings.HasSuffix(u.GetKind(), "List") {
		return []*unstructured.Unstructured{u}, nil
	}
	var objs []*unstructured.Unstructured
	for i, item := range items {
		im, ok := item.(map[string]any)
		if !ok || !isObject(im) {
			return nil, fmt.Errorf("%s items[%d] is not a Kubernetes object (no apiVersion and kind)", u.GetKind(), i)
		}
		found, err := objectsIn(im)
		if err != nil {
			return nil, err
		}
		objs = append(objs, found...)
	}
	return objs, nil
}

func isObject(m map[string]any) bool {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	return apiVersion != "" && kind != ""
}

package migrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Input is one file (or standard input) of YAML documents.
type Input struct {
	// Name is how messages refer to the input, such as the file path or
	// "stdin".
	Name string
	// Data is the content: one or more YAML documents.
	Data []byte
}

// document is one decoded YAML document of an input.
type document struct {
	where      string // "file.yaml, document 2"
	apiVersion string
	kind       string
	namespace  string
	name       string
	raw        []byte         // the document as JSON
	fields     map[string]any // the document as a generic object
}

// group returns the API group of the document's apiVersion.
func (d *document) group() string {
	if i := strings.Index(d.apiVersion, "/"); i >= 0 {
		return d.apiVersion[:i]
	}
	return ""
}

// id names the document in messages: "Kind namespace/name".
func (d *document) id() string {
	return objectID(d.kind, d.namespace, d.name)
}

// decode reads the document into a typed object, naming the document
// when a field has the wrong type.
func (d *document) decode(into any) error {
	if err := json.Unmarshal(d.raw, into); err != nil {
		return fmt.Errorf("%s (%s): %w", d.where, d.id(), err)
	}
	return nil
}

func objectID(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// readDocuments splits every input into documents and checks that each
// one names an object: apiVersion, kind and metadata.name. Empty
// documents are skipped.
func readDocuments(inputs []Input) ([]*document, error) {
	var docs []*document
	for _, in := range inputs {
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(in.Data)))
		for n := 1; ; n++ {
			chunk, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s, document %d: %w", in.Name, n, err)
			}
			d, err := parseDocument(chunk, fmt.Sprintf("%s, document %d", in.Name, n))
			if err != nil {
				return nil, err
			}
			if d != nil {
				docs = append(docs, d)
			}
		}
	}
	return docs, nil
}

// parseDocument decodes one YAML document; it returns nil for a document
// that holds nothing.
func parseDocument(chunk []byte, where string) (*document, error) {
	raw, err := yaml.YAMLToJSON(chunk)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", where, err)
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%s: not a Kubernetes object (a YAML mapping with apiVersion and kind): %w", where, err)
	}
	d := &document{where: where, raw: raw, fields: fields}
	d.apiVersion, _ = fields["apiVersion"].(string)
	d.kind, _ = fields["kind"].(string)
	if meta, ok := fields["metadata"].(map[string]any); ok {
		d.name, _ = meta["name"].(string)
		d.namespace, _ = meta["namespace"].(string)
	}
	switch {
	case d.apiVersion == "":
		return nil, fmt.Errorf("%s: apiVersion is missing", where)
	case d.kind == "":
		return nil, fmt.Errorf("%s: kind is missing", where)
	case d.name == "":
		return nil, fmt.Errorf("%s (%s): metadata.name is missing", where, d.kind)
	}
	return d, nil
}

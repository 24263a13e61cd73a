package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Jsonnet holds the options of the .jsonnet files of a directory source
// (Argo CD's spec.source.directory.jsonnet).
type Jsonnet struct {
	// ExtVars are external variables (std.extVar; jsonnet's --ext-str and
	// --ext-code).
	ExtVars []JsonnetVar `json:"extVars,omitempty"`
	// TLAs are top-level arguments, passed to a file that evaluates to a
	// function (jsonnet's --tla-str and --tla-code).
	TLAs []JsonnetVar `json:"tlas,omitempty"`
	// Libs are library search folders, relative to the source root (not
	// to Path), searched after the importing file's folder and Path.
	Libs []string `json:"libs,omitempty"`
}

// JsonnetVar is one external variable or top-level argument.
type JsonnetVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Code makes Value Jsonnet code instead of a string.
	Code bool `json:"code,omitempty"`
}

// check refuses nameless variables and library folders that leave the
// source root, and returns j with the folders cleaned (a leading "/" is
// read from the root).
func (j *Jsonnet) check() (*Jsonnet, error) {
	if j == nil {
		return nil, nil
	}
	out := *j
	for kind, vars := range map[string][]JsonnetVar{"extVars": j.ExtVars, "tlas": j.TLAs} {
		for i, v := range vars {
			if v.Name == "" {
				return nil, fmt.Errorf("jsonnet %s[%d]: name is required", kind, i)
			}
		}
	}
	out.Libs = make([]string, 0, len(j.Libs))
	for i, lib := range j.Libs {
		p, err := cleanPath(lib)
		if err != nil {
			return nil, fmt.Errorf("jsonnet libs[%d]: library %w", i, err)
		}
		out.Libs = append(out.Libs, p)
	}
	return &out, nil
}

// jsonnetObjects reads what a .jsonnet file evaluated to, as Argo CD
// does: one object, or an array of objects (arrays nest; null elements
// are skipped). Lists (kind: List or *List with items) are expanded.
// Anything else is an error naming the file.
func jsonnetObjects(name string, out []byte) ([]*unstructured.Unstructured, error) {
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("%s: Jsonnet output: %w", name, err)
	}
	var objs []*unstructured.Unstructured
	var walk func(v any, at string) error
	walk = func(v any, at string) error {
		switch t := v.(type) {
		case nil:
			return nil
		case []any:
			for i, e := range t {
				if err := walk(e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
			return nil
		case map[string]any:
			if !isObject(t) {
				return fmt.Errorf("%s: %s is not a Kubernetes object (no apiVersion and kind)", name, describeAt(at))
			}
			found, err := objectsIn(t)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", name, describeAt(at), err)
			}
			objs = append(objs, found...)
			return nil
		default:
			return fmt.Errorf("%s: %s is a %s, not an object or an array of objects", name, describeAt(at), jsonType(v))
		}
	}
	if err := walk(v, ""); err != nil {
		return nil, err
	}
	return objs, nil
}

func describeAt(at string) string {
	if at == "" {
		return "the output"
	}
	return "element " + at
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// isJsonnet reports whether a directory file is a Jsonnet program to
// evaluate (.libsonnet files are libraries: imported, never rendered).
func isJsonnet(rel string) bool {
	return path.Ext(rel) == ".jsonnet"
}

// errorKind names the sentinel an evaluation failure wraps, for the trip
// from the worker process back to the renderer.
func errorKind(err error) string {
	switch {
	case errors.Is(err, ErrOutsideRoot):
		return "outside"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrTooLarge):
		return "size"
	}
	return ""
}

func kindError(kind string) error {
	switch kind {
	case "outside":
		return ErrOutsideRoot
	case "timeout":
		return ErrTimeout
	case "size":
		return ErrTooLarge
	}
	return nil
}

// trimJsonnetError keeps go-jsonnet's message and the first frames of its
// stack trace: a runaway recursion lists hundreds of identical frames.
func trimJsonnetError(msg string) string {
	const maxLines = 4
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], fmt.Sprintf("\t... (%d more lines of stack trace)", len(lines)-maxLines))
	}
	return strings.Join(lines, "\n")
}

package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/render/varsub"
)

const (
	// originAnnotation is where kustomize records the file of each object.
	originAnnotation = "config.kubernetes.io/origin"
	// SubstituteAnnotation, set to "disabled" as a label or an annotation,
	// keeps Flux's postBuild substitution away from an object.
	SubstituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"
)

// toObjects turns kustomize's output into Objects: Source from the origin
// annotation (removed unless the kustomization asked for it), then Flux's
// post-build variable substitution.
func toObjects(ctx context.Context, m resmap.ResMap, o Options, keepOrigin bool) ([]Object, error) {
	if m.Size() > o.MaxObjects {
		return nil, fmt.Errorf("%d objects, limit %d: %w", m.Size(), o.MaxObjects, ErrTooManyObjects)
	}
	vars := make(map[string]string, len(o.Substitute))
	for k, v := range o.Substitute {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	substitute := len(vars) > 0 || o.SubstituteAlways
	objs := make([]Object, 0, m.Size())
	for _, res := range m.Resources() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		source, err := takeSource(res, o.Path, keepOrigin)
		if err != nil {
			return nil, err
		}
		if res.GetApiVersion() == "" || res.GetKind() == "" || res.GetName() == "" {
			return nil, fmt.Errorf("%s: an object has no apiVersion, kind or name", source)
		}
		var u *unstructured.Unstructured
		if substitute && !substituteDisabled(res) {
			u, err = substituted(res, vars, o.StrictSubstitute)
		} else {
			u, err = unstructuredOf(res)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s/%s: %w", source, res.GetKind(), res.GetName(), err)
		}
		objs = append(objs, Object{Obj: u, Source: source})
	}
	return objs, nil
}

// takeSource reads the object's origin as a path relative to the source
// root (dir is the folder that was built) and removes the annotation.
func takeSource(res *resource.Resource, dir string, keep bool) (string, error) {
	origin, err := res.GetOrigin()
	if err != nil {
		return "", fmt.Errorf("%s/%s: origin: %w", res.GetKind(), res.GetName(), err)
	}
	if !keep {
		annotations := res.GetAnnotations()
		delete(annotations, originAnnotation)
		if err := res.SetAnnotations(annotations); err != nil {
			return "", err
		}
	}
	if origin == nil {
		return "", nil
	}
	file := origin.Path
	if file == "" {
		file = origin.ConfiguredIn
	}
	if origin.Repo != "" {
		s := origin.Repo + "//" + file
		if origin.Ref != "" {
			s += "?ref=" + origin.Ref
		}
		return s, nil
	}
	return path.Join(dir, file), nil
}

func substituteDisabled(res *resource.Resource) bool {
	return res.GetLabels()[SubstituteAnnotation] == "disabled" ||
		res.GetAnnotations()[SubstituteAnnotation] == "disabled"
}

// substituted expands ${var} in the object's YAML as kustomize prints it,
// then reads the YAML back, as Flux does. Kustomize drops the quotes of
// "${PORT}", so a value that looks like a number becomes one (Flux's
// documented behaviour; the workaround there, '"${PORT}"', works here too).
func substituted(res *resource.Resource, vars map[string]string, strict bool) (*unstructured.Unstructured, error) {
	data, err := res.AsYAML()
	if err != nil {
		return nil, err
	}
	out, err := varsub.Expand(string(data), vars, strict)
	if err != nil {
		return nil, fmt.Errorf("variable substitution: %w", err)
	}
	// Errors past this point would quote substituted text, and the values
	// may come from Secrets: say where, never what.
	j, err := yaml.YAMLToJSON([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("variable substitution made invalid YAML%s; check the values substituted there", lineOf(err))
	}
	u, err := decodeObject(j)
	if err != nil {
		return nil, errors.New("variable substitution made an invalid object; check the substituted values")
	}
	return u, nil
}

// lineOf returns " (line N)" from a YAML parser error, or "".
func lineOf(err error) string {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return " (line " + m[1] + ")"
}

func unstructuredOf(res *resource.Resource) (*unstructured.Unstructured, error) {
	j, err := res.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return decodeObject(j)
}

func decodeObject(j []byte) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	return u, nil
}

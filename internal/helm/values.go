package helm

import (
	"fmt"
	"strings"

	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// MergeMaps merges b into a copy of a: maps merge deeply, anything else in
// b (lists included) replaces what a has.
func MergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = MergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// ValuesSource is one entry of a HelmRelease's valuesFrom, already read.
type ValuesSource struct {
	// Description names the source in errors ("ConfigMap default/podinfo-values key values.yaml").
	Description string
	// Data is the value of the key.
	Data []byte
	// TargetPath, when set, puts Data at this path (Helm's --set syntax)
	// instead of merging it as a YAML document.
	TargetPath string
}

// ComposeValues merges valuesFrom in order and then values on top, as
// Flux's helm-controller does. An entry with a TargetPath sets one value
// at that path (Helm's --set syntax; a value in quotes stays a string)
// and wins over everything else, inline values included.
func ComposeValues(from []ValuesSource, values map[string]any) (map[string]any, error) {
	result := map[string]any{}
	var targeted []ValuesSource
	for _, src := range from {
		if src.TargetPath != "" {
			targeted = append(targeted, src)
			continue
		}
		var vals map[string]any
		if err := yaml.Unmarshal(src.Data, &vals); err != nil {
			return nil, fmt.Errorf("%s: values are not valid YAML: %w", src.Description, err)
		}
		result = MergeMaps(result, vals)
	}
	result = MergeMaps(result, deepCopy(values))
	for _, src := range targeted {
		if err := setPath(result, src.TargetPath, string(src.Data)); err != nil {
			return nil, fmt.Errorf("%s: target path '%s': %w", src.Description, src.TargetPath, err)
		}
	}
	return result, nil
}

// setPath sets value at path in dest with Helm's --set syntax; a value in
// single or double quotes is set as a string without them.
func setPath(dest map[string]any, path, value string) error {
	v := strings.TrimSpace(value)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return strvals.ParseIntoString(path+"="+v[1:len(v)-1], dest)
	}
	return strvals.ParseInto(path+"="+value, dest)
}

// SetValue sets name=value in dest as `helm --set` does, or as
// `--set-string` when forceString.
func SetValue(dest map[string]any, name, value string, forceString bool) error {
	if forceString {
		return strvals.ParseIntoString(name+"="+value, dest)
	}
	return strvals.ParseInto(name+"="+value, dest)
}

// deepCopy copies the maps and lists of v, so that setting values in the
// copy never changes v.
func deepCopy(v map[string]any) map[string]any {
	if v == nil {
		return nil
	}
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = deepCopyValue(x)
	}
	return out
}

func deepCopyValue(x any) any {
	switch t := x.(type) {
	case map[string]any:
		return deepCopy(t)
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopyValue(e)
		}
		return l
	}
	return x
}

// SetFile sets name to the contents of a file, as `helm --set-file` does:
// the contents are one string, whatever commas or quotes they hold.
func SetFile(dest map[string]any, name string, data []byte) error {
	return strvals.ParseIntoFile(name+"=file", dest, func([]rune) (any, error) { return string(data), nil })
}

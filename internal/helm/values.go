package helm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

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
// Flux's helm-controller does.
func ComposeValues(from []ValuesSource, values map[string]any) (map[string]any, error) {
	result := map[string]any{}
	for _, src := range from {
		if src.TargetPath != "" {
			// Set the value as a string at the path, as `--set-string` would,
			// so numbers and booleans in a Secret keep their text form.
			if err := strvals.ParseIntoString(src.TargetPath+"="+escapeValue(string(src.Data)), result); err != nil {
				return nil, fmt.Errorf("%s: target path '%s': %w", src.Description, src.TargetPath, err)
			}
			continue
		}
		var vals map[string]any
		if err := yaml.Unmarshal(src.Data, &vals); err != nil {
			return nil, fmt.Errorf("%s: values are not valid YAML: %w", src.Description, err)
		}
		result = MergeMaps(result, vals)
	}
	return MergeMaps(result, values), nil
}

// escapeValue escapes the characters strvals would read as separators.
func escapeValue(v string) string {
	out := make([]rune, 0, len(v))
	for _, r := range v {
		if r == ',' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// Digest is "sha256:<hex>" of values in canonical JSON (sorted keys), so
// equal values give equal digests.
func Digest(values map[string]any) string {
	data, err := json.Marshal(values)
	if err != nil {
		data = []byte(fmt.Sprint(values))
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

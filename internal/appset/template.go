package appset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	jsonpatch "github.com/evanphx/json-patch/v5"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Params is one parameter set: flat "a.b" names to strings for the default
// templates, nested maps and lists for goTemplate.
type Params map[string]any

// Templater renders strings with parameters in one of the two languages.
type Templater struct {
	// Go selects text/template (goTemplate); otherwise "{{param}}".
	Go bool
	// Options are text/template options ("missingkey=error").
	Options []string
}

// fastTag is one "{{ name }}" of the default language.
var fastTag = regexp.MustCompile(`\{\{([^{}]*)\}\}`)

// Render renders s with p. In the default language an unknown parameter
// is left as written, as Argo CD does.
func (t Templater) Render(s string, p Params) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	if !t.Go {
		return fastTag.ReplaceAllStringFunc(s, func(tag string) string {
			name := strings.TrimSpace(tag[2 : len(tag)-2])
			if v, ok := p[name]; ok && name != "" {
				return fmt.Sprint(v)
			}
			return tag
		}), nil
	}
	tmpl := template.New("").Funcs(funcs())
	for _, o := range t.Options {
		tmpl = tmpl.Option(o)
	}
	tmpl, err := tmpl.Parse(s)
	if err != nil {
		return "", fmt.Errorf("parse template %q: %w", s, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any(p)); err != nil {
		return "", fmt.Errorf("render template %q: %w", s, err)
	}
	return out.String(), nil
}

// funcs are Sprig's functions without those that reach the process or the
// network, and Argo CD's own additions.
func funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		delete(f, name)
	}
	f["normalize"] = SanitizeName
	f["slugify"] = slugify
	f["toYaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	}
	f["fromYaml"] = func(s string) (map[string]any, error) {
		var m map[string]any
		err := yaml.Unmarshal([]byte(s), &m)
		return m, err
	}
	f["fromYamlArray"] = func(s string) ([]any, error) {
		var a []any
		err := yaml.Unmarshal([]byte(s), &a)
		return a, err
	}
	return f
}

var invalidName = regexp.MustCompile(`[^-a-z0-9.]`)

// SanitizeName makes name a DNS subdomain as Argo CD does for
// nameNormalized and basenameNormalized: lower case, other characters
// replaced by "-", at most 253 bytes, no leading or trailing "-" or ".".
func SanitizeName(name string) string {
	name = invalidName.ReplaceAllString(strings.ToLower(name), "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

var slugInvalid = regexp.MustCompile(`[^a-z0-9-]+`)

// slugify is Argo CD's slugify(maxSize, smartTruncate, s) template
// function: lower case, runs of other characters as "-", cut at maxSize
// (at a "-" when smartTruncate).
func slugify(args ...any) string {
	maxSize, smart, s := 50, true, ""
	switch len(args) {
	case 1:
		s = fmt.Sprint(args[0])
	case 3:
		if n, ok := args[0].(int); ok {
			maxSize = n
		}
		if b, ok := args[1].(bool); ok {
			smart = b
		}
		s = fmt.Sprint(args[2])
	}
	s = strings.Trim(slugInvalid.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > maxSize {
		cut := s[:maxSize]
		if i := strings.LastIndex(cut, "-"); smart && i > 0 {
			cut = cut[:i]
		}
		s = strings.Trim(cut, "-")
	}
	return s
}

// renderValue renders every string (map keys included) of the JSON value
// v with p.
func (t Templater) renderValue(v any, p Params) (any, error) {
	switch x := v.(type) {
	case string:
		return t.Render(x, p)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			key, err := t.Render(k, p)
			if err != nil {
				return nil, err
			}
			if out[key], err = t.renderValue(val, p); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			var err error
			if out[i], err = t.renderValue(val, p); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

// Application renders tmpl (the ApplicationSet's template with the
// generator's merged in) with p, then applies patch (templatePatch, Go
// templates only) as a JSON merge patch.
func (t Templater) Application(tmpl argov1.ApplicationSetTemplate, patch string, p Params) (*argov1.Application, error) {
	raw, err := toJSONValue(tmpl)
	if err != nil {
		return nil, err
	}
	rendered, err := t.renderValue(raw, p)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(rendered)
	if err != nil {
		return nil, err
	}
	if patch != "" {
		text, err := t.Render(patch, p)
		if err != nil {
			return nil, fmt.Errorf("templatePatch: %w", err)
		}
		pj, err := yaml.YAMLToJSON([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("templatePatch: rendered patch is not YAML: %w", err)
		}
		if s := strings.TrimSpace(string(pj)); s != "null" && s != "{}" {
			if !strings.HasPrefix(s, "{") {
				return nil, fmt.Errorf("templatePatch: the rendered patch is not an object")
			}
			if doc, err = jsonpatch.MergePatch(doc, pj); err != nil {
				return nil, fmt.Errorf("templatePatch: %w", err)
			}
		}
	}
	var out argov1.ApplicationSetTemplate
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("the rendered template is not an Application: %w", err)
	}
	app := &argov1.Application{Spec: out.Spec}
	app.Name, app.Namespace = out.Name, out.Namespace
	app.Labels, app.Annotations = out.Labels, out.Annotations
	app.Finalizers = out.Finalizers
	return app, nil
}

// MergeTemplate returns base with the fields that over sets put over it
// (a generator's template over the ApplicationSet's), as Argo CD merges.
func MergeTemplate(base, over argov1.ApplicationSetTemplate) (argov1.ApplicationSetTemplate, error) {
	b, err := toJSONValue(base)
	if err != nil {
		return base, err
	}
	o, err := toJSONValue(over)
	if err != nil {
		return base, err
	}
	om, _ := pruneEmpty(o).(map[string]any)
	if om == nil {
		return base, nil
	}
	merged := deepMerge(b.(map[string]any), om)
	doc, err := json.Marshal(merged)
	if err != nil {
		return base, err
	}
	var out argov1.ApplicationSetTemplate
	err = json.Unmarshal(doc, &out)
	return out, err
}

// pruneEmpty drops the zero values of a JSON value (as mergo does not
// let them override): empty strings, false, 0, null, and maps and lists
// that end up empty.
func pruneEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if p := pruneEmpty(val); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		return x
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case nil:
		return nil
	}
	return v
}

func deepMerge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = deepMerge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// toJSONValue is v as generic JSON (maps, lists, strings, numbers).
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

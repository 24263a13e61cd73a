package appset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gobwas/glob"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Cluster is a registered cluster as the clusters generator sees it.
type Cluster struct {
	Name, Server, Project string
	Labels, Annotations   map[string]string
}

// Sources is what generators read: Git checkouts and registered clusters.
type Sources interface {
	// Checkout returns a checkout of revision ("" for HEAD) of repoURL;
	// release must be called once the files are read.
	Checkout(ctx context.Context, repoURL, revision string) (dir string, release func(), err error)
	// Clusters returns the registered clusters, the local one included.
	Clusters(ctx context.Context) ([]Cluster, error)
}

// Result is one parameter set with the template its generator adds.
type Result struct {
	Params   Params
	Template argov1.ApplicationSetTemplate
}

// ErrUnsupported: a generator Tether does not run.
var ErrUnsupported = errors.New("is not supported by Tether")

// Generator makes the parameter sets of an ApplicationSet.
type Generator struct {
	Sources Sources
	Templater
	// MaxFiles bounds the files a git files generator reads (0: 1000).
	MaxFiles int
}

// Generate runs every generator of set and returns their parameter sets,
// in order.
func (g *Generator) Generate(ctx context.Context, set *argov1.ApplicationSet) ([]Result, error) {
	var out []Result
	for i, gen := range set.Spec.Generators {
		res, err := g.generator(ctx, nested(gen), nil)
		if err != nil {
			return nil, fmt.Errorf("spec.generators[%d]: %w", i, err)
		}
		out = append(out, res...)
	}
	return out, nil
}

// nested turns a top-level generator into the nested form (matrix and
// merge as JSON), so one function runs both.
func nested(g argov1.ApplicationSetGenerator) argov1.ApplicationSetNestedGenerator {
	n := argov1.ApplicationSetNestedGenerator{List: g.List, Clusters: g.Clusters, Git: g.Git, Selector: g.Selector,
		SCMProvider: g.SCMProvider, ClusterDecisionResource: g.ClusterDecisionResource, PullRequest: g.PullRequest, Plugin: g.Plugin}
	if g.Matrix != nil {
		b, _ := json.Marshal(g.Matrix)
		n.Matrix = &apiJSON{Raw: b}
	}
	if g.Merge != nil {
		b, _ := json.Marshal(g.Merge)
		n.Merge = &apiJSON{Raw: b}
	}
	return n
}

// generator runs one generator; parent, inside a matrix, are the first
// generator's parameters, which this one's fields may use.
func (g *Generator) generator(ctx context.Context, gen argov1.ApplicationSetNestedGenerator, parent Params) ([]Result, error) {
	if parent != nil {
		if err := g.interpolate(&gen, parent); err != nil {
			return nil, err
		}
	}
	var res []Result
	var err error
	switch {
	case gen.List != nil:
		res, err = g.list(gen.List)
	case gen.Clusters != nil:
		res, err = g.clusters(ctx, gen.Clusters)
	case gen.Git != nil:
		res, err = g.git(ctx, gen.Git)
	case gen.Matrix != nil:
		var m argov1.MatrixGenerator
		if err := json.Unmarshal(gen.Matrix.Raw, &m); err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
		res, err = g.matrix(ctx, m)
	case gen.Merge != nil:
		var m argov1.MergeGenerator
		if err := json.Unmarshal(gen.Merge.Raw, &m); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		res, err = g.merge(ctx, m)
	case gen.SCMProvider != nil:
		return nil, fmt.Errorf("the scmProvider generator %w", ErrUnsupported)
	case gen.PullRequest != nil:
		return nil, fmt.Errorf("the pullRequest generator %w", ErrUnsupported)
	case gen.ClusterDecisionResource != nil:
		return nil, fmt.Errorf("the clusterDecisionResource generator %w", ErrUnsupported)
	case gen.Plugin != nil:
		return nil, fmt.Errorf("the plugin generator %w", ErrUnsupported)
	default:
		return nil, errors.New("no generator set (want list, clusters, git, matrix or merge)")
	}
	if err != nil {
		return nil, err
	}
	return g.selected(res, gen.Selector)
}

// interpolate renders the strings of gen with parent (a matrix's first
// generator's parameters). A string that does not render with them (it
// names this generator's own parameters) is left for the template.
func (g *Generator) interpolate(gen *argov1.ApplicationSetNestedGenerator, parent Params) error {
	raw, err := toJSONValue(gen)
	if err != nil {
		return err
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			if out, err := g.Render(x, parent); err == nil {
				return out
			}
		case map[string]any:
			for k, val := range x {
				x[k] = walk(val)
			}
		case []any:
			for i, val := range x {
				x[i] = walk(val)
			}
		}
		return v
	}
	b, err := json.Marshal(walk(raw))
	if err != nil {
		return err
	}
	*gen = argov1.ApplicationSetNestedGenerator{}
	return json.Unmarshal(b, gen)
}

// selected keeps the results that sel matches, on their flattened
// parameters.
func (g *Generator) selected(res []Result, sel *metav1.LabelSelector) ([]Result, error) {
	if sel == nil {
		return res, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	var out []Result
	for _, r := range res {
		set := labels.Set{}
		for k, v := range flatten(r.Params) {
			set[k] = fmt.Sprint(v)
		}
		if s.Matches(set) {
			out = append(out, r)
		}
	}
	return out, nil
}

// list yields the elements (and elementsYaml's).
func (g *Generator) list(l *argov1.ListGenerator) ([]Result, error) {
	var elems []map[string]any
	for i, e := range l.Elements {
		var m map[string]any
		if err := json.Unmarshal(e.Raw, &m); err != nil {
			return nil, fmt.Errorf("list: elements[%d] is not an object: %w", i, err)
		}
		elems = append(elems, m)
	}
	if l.ElementsYaml != "" {
		var more []map[string]any
		if err := yaml.Unmarshal([]byte(l.ElementsYaml), &more); err != nil {
			return nil, fmt.Errorf("list: elementsYaml is not a list of objects: %w", err)
		}
		elems = append(elems, more...)
	}
	out := make([]Result, 0, len(elems))
	for _, e := range elems {
		out = append(out, Result{Params: g.shape(e), Template: l.Template})
	}
	return out, nil
}

// shape returns nested parameters as the template language wants them:
// as they are for goTemplate, flattened to dotted names otherwise.
func (g *Generator) shape(p map[string]any) Params {
	if g.Go {
		return Params(p)
	}
	return flatten(p)
}

// flatten turns nested maps and lists into dotted names ("a.b", "l.0")
// with string values, as Argo CD's default templates see them.
func flatten(p map[string]any) Params {
	out := Params{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				walk(join(prefix, k), val)
			}
		case []any:
			for i, val := range x {
				walk(join(prefix, fmt.Sprint(i)), val)
			}
		case []string:
			for i, val := range x {
				walk(join(prefix, fmt.Sprint(i)), val)
			}
		case map[string]string:
			for k, val := range x {
				walk(join(prefix, k), val)
			}
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = fmt.Sprint(x)
		}
	}
	for k, v := range p {
		walk(k, v)
	}
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// clusters yields one parameter set per registered cluster that the
// selector matches (the local cluster only with an empty selector).
func (g *Generator) clusters(ctx context.Context, c *argov1.ClusterGenerator) ([]Result, error) {
	all, err := g.Sources.Clusters(ctx)
	if err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	sel, err := metav1.LabelSelectorAsSelector(&c.Selector)
	if err != nil {
		return nil, fmt.Errorf("clusters: selector: %w", err)
	}
	empty := len(c.Selector.MatchLabels) == 0 && len(c.Selector.MatchExpressions) == 0
	var out []Result
	var flat []any
	for _, cl := range all {
		if cl.Labels == nil && !empty {
			continue // the local cluster has no Secret, so no labels
		}
		if !sel.Matches(labels.Set(cl.Labels)) {
			continue
		}
		p := map[string]any{
			"name": cl.Name, "nameNormalized": SanitizeName(cl.Name), "server": cl.Server, "project": cl.Project,
			"metadata": map[string]any{"labels": anyMap(cl.Labels), "annotations": anyMap(cl.Annotations)},
		}
		if c.FlatList {
			flat = append(flat, p)
			continue
		}
		shaped, err := g.withValues(g.shape(p), c.Values)
		if err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		out = append(out, Result{Params: shaped, Template: c.Template})
	}
	if c.FlatList {
		return []Result{{Params: g.shape(map[string]any{"clusters": flat}), Template: c.Template}}, nil
	}
	return out, nil
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// withValues renders a generator's values with the parameters p (shaped)
// and adds them: as "values" for goTemplate, "values.<key>" otherwise.
func (g *Generator) withValues(p Params, values map[string]string) (Params, error) {
	if len(values) == 0 {
		return p, nil
	}
	vals := map[string]any{}
	for k, v := range values {
		r, err := g.Render(v, p)
		if err != nil {
			return nil, fmt.Errorf("values.%s: %w", k, err)
		}
		vals[k] = r
	}
	if g.Go {
		p["values"] = vals
		return p, nil
	}
	for k, v := range vals {
		p["values."+k] = v
	}
	return p, nil
}

// git yields a parameter set per directory or file of the repository.
func (g *Generator) git(ctx context.Context, gg *argov1.GitGenerator) ([]Result, error) {
	if len(gg.Directories) == 0 && len(gg.Files) == 0 {
		return nil, errors.New("git: directories or files is required")
	}
	dir, release, err := g.Sources.Checkout(ctx, gg.RepoURL, gg.Revision)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	defer release()
	var sets []map[string]any
	if len(gg.Directories) > 0 {
		sets, err = gitDirectories(dir, gg.Directories)
	} else {
		sets, err = g.gitFiles(dir, gg.Files)
	}
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", gg.RepoURL, err)
	}
	out := make([]Result, 0, len(sets))
	for _, p := range sets {
		if gg.PathParamPrefix != "" {
			p[gg.PathParamPrefix] = map[string]any{"path": p["path"]}
			delete(p, "path")
		}
		shaped, err := g.withValues(g.gitShape(p, gg.PathParamPrefix), gg.Values)
		if err != nil {
			return nil, fmt.Errorf("git: %w", err)
		}
		out = append(out, Result{Params: shaped, Template: gg.Template})
	}
	return out, nil
}

// gitShape shapes git parameters: the default language names the path
// "path" with "path.basename" and "path[0]" beside it, not "path.path".
func (g *Generator) gitShape(p map[string]any, prefix string) Params {
	if g.Go {
		return Params(p)
	}
	pathKey := "path"
	pm := p
	if prefix != "" {
		pathKey = prefix + ".path"
		pm, _ = p[prefix].(map[string]any)
		delete(p, prefix)
	}
	info, _ := pm["path"].(map[string]any)
	delete(pm, "path")
	out := flatten(p)
	if info != nil {
		out[pathKey] = info["path"]
		for _, k := range []string{"basename", "basenameNormalized", "filename", "filenameNormalized"} {
			if v, ok := info[k]; ok {
				out[pathKey+"."+k] = v
			}
		}
		segs, _ := info["segments"].([]any)
		for i, s := range segs {
			out[fmt.Sprintf("%s[%d]", pathKey, i)] = s
		}
	}
	return out
}

// pathInfo are the path parameters of a folder (and file name, if any).
func pathInfo(dir, file string) map[string]any {
	segs := []any{}
	if dir != "." {
		for _, s := range strings.Split(dir, "/") {
			segs = append(segs, s)
		}
	}
	base := path.Base(dir)
	info := map[string]any{"path": dir, "basename": base, "basenameNormalized": SanitizeName(base), "segments": segs}
	if file != "" {
		info["filename"] = file
		info["filenameNormalized"] = SanitizeName(file)
	}
	return info
}

// gitDirectories lists the folders of the checkout (".git" and hidden
// folders left out) that an include item matches and no exclude item
// does, in lexical order.
func gitDirectories(root string, items []argov1.GitDirectoryGeneratorItem) ([]map[string]any, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		dirs = append(dirs, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	var out []map[string]any
	for _, d := range dirs {
		in, ex := false, false
		for _, it := range items {
			ok, err := path.Match(strings.TrimPrefix(it.Path, "/"), d)
			if err != nil {
				return nil, fmt.Errorf("directories path %q: %w", it.Path, err)
			}
			if ok && it.Exclude {
				ex = true
			} else if ok {
				in = true
			}
		}
		if in && !ex {
			out = append(out, map[string]any{"path": pathInfo(d, "")})
		}
	}
	return out, nil
}

// gitFiles reads the JSON and YAML files that an include item matches
// ("**" crosses folders) and no exclude item does: each file is one
// parameter set, or one per element when it holds a list.
func (g *Generator) gitFiles(root string, items []argov1.GitFileGeneratorItem) ([]map[string]any, error) {
	type pattern struct {
		g       glob.Glob
		exclude bool
	}
	var pats []pattern
	for _, it := range items {
		gl, err := glob.Compile(strings.TrimPrefix(it.Path, "/"), '/')
		if err != nil {
			return nil, fmt.Errorf("files path %q: %w", it.Path, err)
		}
		pats = append(pats, pattern{gl, it.Exclude})
	}
	limit := g.MaxFiles
	if limit == 0 {
		limit = 1000
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks are not followed out of the checkout
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		in, ex := false, false
		for _, pt := range pats {
			if pt.g.Match(rel) {
				if pt.exclude {
					ex = true
				} else {
					in = true
				}
			}
		}
		if in && !ex {
			files = append(files, rel)
			if len(files) > limit {
				return fmt.Errorf("more than %d files match", limit)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: not JSON or YAML: %w", f, err)
		}
		var docs []map[string]any
		switch x := doc.(type) {
		case map[string]any:
			docs = append(docs, x)
		case []any:
			for i, e := range x {
				m, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: element %d is not an object", f, i)
				}
				docs = append(docs, m)
			}
		case nil:
		default:
			return nil, fmt.Errorf("%s: holds neither an object nor a list of objects", f)
		}
		for _, d := range docs {
			d["path"] = pathInfo(path.Dir(f), path.Base(f))
			out = append(out, d)
		}
	}
	return out, nil
}

// matrix yields every combination of its two generators' sets, the
// second generator rendered with each of the first's parameters.
func (g *Generator) matrix(ctx context.Context, m argov1.MatrixGenerator) ([]Result, error) {
	if len(m.Generators) != 2 {
		return nil, fmt.Errorf("matrix: needs exactly 2 generators, has %d", len(m.Generators))
	}
	first, err := g.generator(ctx, m.Generators[0], nil)
	if err != nil {
		return nil, fmt.Errorf("matrix: generators[0]: %w", err)
	}
	var out []Result
	for _, a := range first {
		second, err := g.generator(ctx, m.Generators[1], a.Params)
		if err != nil {
			return nil, fmt.Errorf("matrix: generators[1]: %w", err)
		}
		for _, b := range second {
			p := Params{}
			for k, v := range a.Params {
				p[k] = v
			}
			for k, v := range b.Params {
				p[k] = v
			}
			tmpl, err := MergeTemplate(a.Template, b.Template)
			if err != nil {
				return nil, err
			}
			tmpl, err = MergeTemplate(m.Template, tmpl)
			if err != nil {
				return nil, err
			}
			out = append(out, Result{Params: p, Template: tmpl})
		}
	}
	return out, nil
}

// merge yields the first generator's sets, each with the parameters of
// the later generators' sets that have the same values for MergeKeys.
func (g *Generator) merge(ctx context.Context, m argov1.MergeGenerator) ([]Result, error) {
	if len(m.Generators) < 2 {
		return nil, fmt.Errorf("merge: needs at least 2 generators, has %d", len(m.Generators))
	}
	if len(m.MergeKeys) == 0 {
		return nil, errors.New("merge: mergeKeys is required")
	}
	base, err := g.generator(ctx, m.Generators[0], nil)
	if err != nil {
		return nil, fmt.Errorf("merge: generators[0]: %w", err)
	}
	for i, gen := range m.Generators[1:] {
		more, err := g.generator(ctx, gen, nil)
		if err != nil {
			return nil, fmt.Errorf("merge: generators[%d]: %w", i+1, err)
		}
		byKey := map[string]Params{}
		for _, r := range more {
			byKey[mergeKey(r.Params, m.MergeKeys)] = r.Params
		}
		for j := range base {
			if p, ok := byKey[mergeKey(base[j].Params, m.MergeKeys)]; ok {
				merged := Params{}
				for k, v := range base[j].Params {
					merged[k] = v
				}
				for k, v := range p {
					if sub, ok := v.(map[string]any); ok {
						if old, ok := merged[k].(map[string]any); ok {
							merged[k] = deepMerge(old, sub)
							continue
						}
					}
					merged[k] = v
				}
				base[j].Params = merged
			}
		}
	}
	for j := range base {
		if base[j].Template, err = MergeTemplate(m.Template, base[j].Template); err != nil {
			return nil, err
		}
	}
	return base, nil
}

// mergeKey is the values of keys in p (dotted names reach into nested
// parameters), joined.
func mergeKey(p Params, keys []string) string {
	flat := flatten(p)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = fmt.Sprint(flat[k])
	}
	b, _ := json.Marshal(vals)
	return string(b)
}

// apiJSON is the raw JSON type of nested matrix and merge generators.
type apiJSON = apiextensionsv1.JSON

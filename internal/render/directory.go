package render

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/gobwas/glob"
)

// renderDirectory reads the manifests of an Argo CD directory source:
// the .yaml, .yml and .json files in Path (and below it with Recurse)
// that Include and Exclude keep, in lexical order.
func renderDirectory(ctx context.Context, root string, o Options) ([]Object, error) {
	src, err := openSource(root, o.MaxBytes)
	if err != nil {
		return nil, err
	}
	dir, err := src.dir(o.Path)
	if err != nil {
		return nil, err
	}
	want, err := directoryFilter(o)
	if err != nil {
		return nil, err
	}
	var objs []Object
	err = src.walk(ctx, dir, o.Path, walkOptions{recurse: o.Recurse, want: want}, func(rel string, isDir bool, data []byte) error {
		if isDir {
			return nil
		}
		if strings.HasSuffix(rel, ".jsonnet") {
			return fmt.Errorf("%s: Jsonnet is not supported; leave it out with Exclude", rel)
		}
		found, err := decodeManifests(rel, data, true)
		if err != nil {
			return err
		}
		for _, u := range found {
			if u.GetName() == "" && u.GetGenerateName() == "" {
				return fmt.Errorf("%s: %s has no metadata.name", rel, u.GetKind())
			}
			objs = append(objs, Object{Obj: u, Source: rel})
		}
		if len(objs) > o.MaxObjects {
			return fmt.Errorf("more than %d objects: %w", o.MaxObjects, ErrTooManyObjects)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// directoryFilter picks files as Argo CD does: by extension, then by the
// Exclude and Include globs matched against the path below Path.
func directoryFilter(o Options) (func(rel string) bool, error) {
	var include, exclude glob.Glob
	var err error
	if o.Include != "" {
		if include, err = glob.Compile(o.Include); err != nil {
			return nil, fmt.Errorf("include %q: %w", o.Include, err)
		}
	}
	if o.Exclude != "" {
		if exclude, err = glob.Compile(o.Exclude); err != nil {
			return nil, fmt.Errorf("exclude %q: %w", o.Exclude, err)
		}
	}
	return func(rel string) bool {
		switch path.Ext(rel) {
		case ".yaml", ".yml", ".json", ".jsonnet":
		default:
			return false
		}
		below := strings.TrimPrefix(rel, o.Path+"/")
		if o.Path == "." {
			below = rel
		}
		if exclude != nil && exclude.Match(below) {
			return false
		}
		return include == nil || include.Match(below)
	}, nil
}

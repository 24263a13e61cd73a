package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/gobwas/glob"
)

// renderDirectory reads the manifests of an Argo CD directory source:
// the .yaml, .yml and .json files in Path (and below it with Recurse)
// that Include and Exclude keep, in lexical order. When every file it
// reads is the one prev read (a new revision that changed nothing here),
// prev's objects are handed back and nothing is parsed (reused).
func renderDirectory(ctx context.Context, root string, o Options, prev *built) (objs []Object, b *built, reused bool, err error) {
	src, err := openSource(root, o.MaxBytes)
	if err != nil {
		return nil, nil, false, err
	}
	dir, err := src.dir(o.Path)
	if err != nil {
		return nil, nil, false, err
	}
	want, err := directoryFilter(o)
	if err != nil {
		return nil, nil, false, err
	}
	type file struct {
		rel  string
		data []byte
	}
	var files []file
	digest := sha256.New()
	err = src.walk(ctx, dir, o.Path, walkOptions{recurse: o.Recurse, want: want}, func(rel string, isDir bool, data []byte) error {
		if isDir {
			return nil
		}
		if strings.HasSuffix(rel, ".jsonnet") {
			return fmt.Errorf("%s: Jsonnet is not supported; leave it out with Exclude", rel)
		}
		fmt.Fprintf(digest, "%d:%s%d:", len(rel), rel, len(data))
		digest.Write(data)
		files = append(files, file{rel, data})
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	answers := "directory:" + hex.EncodeToString(digest.Sum(nil))
	if prev != nil && prev.answers == answers {
		return copyObjects(prev.objects), nil, true, nil
	}
	for _, f := range files {
		found, err := decodeManifests(f.rel, f.data, true)
		if err != nil {
			return nil, nil, false, err
		}
		for _, u := range found {
			if u.GetName() == "" && u.GetGenerateName() == "" {
				return nil, nil, false, fmt.Errorf("%s: %s has no metadata.name", f.rel, u.GetKind())
			}
			objs = append(objs, Object{Obj: u, Source: f.rel})
		}
		if len(objs) > o.MaxObjects {
			return nil, nil, false, fmt.Errorf("more than %d objects: %w", o.MaxObjects, ErrTooManyObjects)
		}
	}
	return objs, &built{answers: answers}, false, nil
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

package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/gobwas/glob"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// renderDirectory reads the manifests of an Argo CD directory source:
// the .yaml, .yml and .json files in Path (and below it with Recurse)
// that Include and Exclude keep, in lexical order, and the objects that
// its .jsonnet files evaluate to (see renderJsonnet). When every file it
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
	var files []manifestFile
	var programs []string
	digest := sha256.New()
	err = src.walk(ctx, dir, o.Path, walkOptions{recurse: o.Recurse, want: want}, func(rel string, isDir bool, data []byte) error {
		if isDir {
			return nil
		}
		fmt.Fprintf(digest, "%d:%s%d:", len(rel), rel, len(data))
		digest.Write(data)
		files = append(files, manifestFile{rel, data})
		if isJsonnet(rel) {
			programs = append(programs, rel)
		}
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	answers := "directory:" + hex.EncodeToString(digest.Sum(nil))
	if len(programs) > 0 {
		return renderJsonnet(ctx, src, o, files, programs, answers, prev)
	}
	if prev != nil && prev.answers == answers {
		return copyObjects(prev.objects), nil, true, nil
	}
	objs, err = decodeDirectory(o, files, nil)
	if err != nil {
		return nil, nil, false, err
	}
	return objs, &built{answers: answers}, false, nil
}

// manifestFile is one file a directory render read.
type manifestFile struct {
	rel  string
	data []byte
}

// renderJsonnet finishes a directory render that has .jsonnet files: it
// evaluates them in a worker process (bounded in time and memory,
// imports confined to the source root; see jsonnet_worker.go) and
// decodes every file in order. What an evaluation reads beyond the
// directory's own files is the imports it probed: the render is reused
// when those answer as they did for prev too.
func renderJsonnet(ctx context.Context, src *source, o Options, files []manifestFile, programs []string, answers string, prev *built) ([]Object, *built, bool, error) {
	if prev != nil && strings.HasPrefix(prev.answers, answers+"|") {
		if prev.answers == answers+"|"+probesDigest(src, prev.accesses) {
			return copyObjects(prev.objects), nil, true, nil
		}
	}
	job := jsonnetJob{Root: src.root, Dir: o.Path, Files: programs,
		MaxRead: o.MaxBytes - src.read, MaxOutput: o.MaxBytes, MaxMemory: jsonnetMaxMemory, Timeout: jsonnetTimeout(ctx)}
	if o.Jsonnet != nil {
		job.Jsonnet = *o.Jsonnet
	}
	res, err := runJsonnet(ctx, job)
	if err != nil {
		return nil, nil, false, err
	}
	if res.Failure != nil {
		return nil, nil, false, res.Failure.err()
	}
	if len(res.Outputs) != len(programs) {
		return nil, nil, false, fmt.Errorf("Jsonnet in %s: %d outputs for %d files", displayPath(o.Path), len(res.Outputs), len(programs))
	}
	outputs := make(map[string][]byte, len(programs))
	for i, p := range programs {
		outputs[p] = res.Outputs[i]
	}
	objs, err := decodeDirectory(o, files, outputs)
	if err != nil {
		return nil, nil, false, err
	}
	accesses := make([]access, len(res.Probes))
	for i, p := range res.Probes {
		accesses[i] = access{op: opRead, path: p}
	}
	return objs, &built{answers: answers + "|" + probesDigest(src, accesses), accesses: accesses}, false, nil
}

// jsonnetTimeout is Renderer.Timeout, or defaultJsonnetTimeout without one.
func jsonnetTimeout(ctx context.Context) time.Duration {
	if d, _ := ctx.Value(deadlineKey{}).(time.Duration); d > 0 {
		return d
	}
	return defaultJsonnetTimeout
}

// probesDigest digests what the paths that imports probed (relative to
// the root, in directory renders) hold now: a file's content, nothing, or
// an error.
func probesDigest(src *source, probes []access) string {
	h := sha256.New()
	r, err := os.OpenRoot(src.root)
	if err != nil {
		return "unreadable"
	}
	defer r.Close()
	for _, p := range probes {
		data, found, err := readConfined(src.root, r, p.path, src.maxBytes)
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%d:%s:%t:%x:%v\x00", len(p.path), p.path, found, sum, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// decodeDirectory turns the files into objects, in order: YAML and JSON
// files as they are, .jsonnet files from their outputs.
func decodeDirectory(o Options, files []manifestFile, outputs map[string][]byte) ([]Object, error) {
	var objs []Object
	for _, f := range files {
		var found []*unstructured.Unstructured
		var err error
		if out, ok := outputs[f.rel]; ok {
			found, err = jsonnetObjects(f.rel, out)
		} else {
			var data []byte
			if data, err = o.openFile(f.rel, f.data); err == nil {
				found, err = decodeManifests(f.rel, data, true)
			}
		}
		if err != nil {
			return nil, err
		}
		for _, u := range found {
			if u.GetName() == "" && u.GetGenerateName() == "" {
				return nil, fmt.Errorf("%s: %s has no metadata.name", f.rel, u.GetKind())
			}
			objs = append(objs, Object{Obj: u, Source: f.rel})
		}
		if len(objs) > o.MaxObjects {
			return nil, fmt.Errorf("more than %d objects: %w", o.MaxObjects, ErrTooManyObjects)
		}
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

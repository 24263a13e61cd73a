package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-jsonnet"
)

// jsonnetJob is the Jsonnet work of one directory render: the files to
// evaluate, the options and the bounds. It travels to a worker process
// as JSON (see jsonnet_worker.go).
type jsonnetJob struct {
	Root  string   `json:"root"`  // absolute, symlinks resolved
	Dir   string   `json:"dir"`   // Options.Path, clean, relative to Root
	Files []string `json:"files"` // .jsonnet files relative to Root, in render order
	// Jsonnet holds the variables, arguments and (clean) library folders.
	Jsonnet Jsonnet `json:"jsonnet"`
	// MaxRead bounds the bytes that imports read, together; MaxOutput
	// the bytes of the outputs, together.
	MaxRead   int64 `json:"maxRead"`
	MaxOutput int64 `json:"maxOutput"`
	// MaxMemory and Timeout bound the worker process.
	MaxMemory int64         `json:"maxMemory"`
	Timeout   time.Duration `json:"timeout"`
}

// jsonnetResult is what a job produced: one JSON output per file, or the
// first failure. Probes are the paths (relative to Root) that imports
// looked at, found or not, so that a later revision can tell whether
// anything the evaluation depended on changed.
type jsonnetResult struct {
	Outputs []json.RawMessage `json:"outputs,omitempty"`
	Probes  []string          `json:"probes,omitempty"`
	Failure *jsonnetFailure   `json:"failure,omitempty"`
}

// jsonnetFailure is an evaluation error: a message that names the file,
// and the kind of sentinel error it stands for (see errorKind).
type jsonnetFailure struct {
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
}

func (f *jsonnetFailure) err() error {
	return &buildError{msg: f.Message, err: kindError(f.Kind)}
}

func failure(file string, err error) *jsonnetFailure {
	return &jsonnetFailure{Message: fmt.Sprintf("%s: %s", file, trimJsonnetError(err.Error())), Kind: errorKind(err)}
}

// jsonnetMaxStack is go-jsonnet's default bound on nested calls: a
// runaway recursion fails with "max stack frames exceeded" at once.
const jsonnetMaxStack = 500

// evaluateJsonnet evaluates the job's files one after the other in this
// process, each in a fresh VM (as Argo CD does) sharing one confined
// importer, and stops at the first failure. at is told which file is
// being evaluated, for the worker's watchdogs. Nothing here bounds time
// or memory: that is the worker process's job.
func evaluateJsonnet(job jsonnetJob, at func(file string)) jsonnetResult {
	im, err := newConfinedImporter(job)
	if err != nil {
		return jsonnetResult{Failure: &jsonnetFailure{Message: err.Error()}}
	}
	defer im.close()
	var res jsonnetResult
	var total int64
	for _, f := range job.Files {
		at(f)
		vm := jsonnet.MakeVM()
		vm.MaxStack = jsonnetMaxStack
		vm.Importer(im)
		vm.SetTraceOut(io.Discard)
		for _, v := range job.Jsonnet.ExtVars {
			if v.Code {
				vm.ExtCode(v.Name, v.Value)
			} else {
				vm.ExtVar(v.Name, v.Value)
			}
		}
		for _, v := range job.Jsonnet.TLAs {
			if v.Code {
				vm.TLACode(v.Name, v.Value)
			} else {
				vm.TLAVar(v.Name, v.Value)
			}
		}
		out, err := vm.EvaluateFile(f)
		if err != nil {
			if im.refused != nil {
				// The message is go-jsonnet's; the kind comes from the
				// importer's own error, which jsonnet wrapped as text.
				err = &buildError{msg: err.Error(), err: im.refused}
			}
			res.Failure = failure(f, err)
			break
		}
		if total += int64(len(out)); total > job.MaxOutput {
			res.Failure = failure(f, fmt.Errorf("the outputs are larger than %d bytes: %w", job.MaxOutput, ErrTooLarge))
			break
		}
		res.Outputs = append(res.Outputs, json.RawMessage(out))
	}
	res.Probes = im.probes
	return res
}

// confinedImporter resolves imports as go-jsonnet's FileImporter does,
// inside the source root only. An import is looked up next to the
// importing file (at the root for the file being evaluated and for code
// in variables), then in the library folders, last first, then in the
// app's folder. A path that leaves the root, lexically ("../../etc/passwd",
// "/etc/passwd") or through a symlink, fails the evaluation with
// ErrOutsideRoot, even when a later folder would hold the file, and is
// never opened. Files are read through an os.Root, counted against
// MaxRead, and must be regular files (a FIFO would block).
type confinedImporter struct {
	root    string
	fs      *os.Root
	search  []string // folders after the importing file's, relative to root
	budget  int64
	cache   map[string]importEntry
	probes  []string
	refused error // the first refusal (outside the root, too large)
}

type importEntry struct {
	contents jsonnet.Contents
	found    bool
	err      error
}

func newConfinedImporter(job jsonnetJob) (*confinedImporter, error) {
	r, err := os.OpenRoot(job.Root)
	if err != nil {
		return nil, fmt.Errorf("source root: %w", err)
	}
	search := make([]string, 0, len(job.Jsonnet.Libs)+1)
	for i := len(job.Jsonnet.Libs) - 1; i >= 0; i-- {
		search = append(search, job.Jsonnet.Libs[i])
	}
	search = append(search, job.Dir)
	return &confinedImporter{root: job.Root, fs: r, search: search, budget: job.MaxRead, cache: map[string]importEntry{}}, nil
}

func (im *confinedImporter) close() { im.fs.Close() }

// Import implements jsonnet.Importer. foundAt is the path relative to the
// root, which is also how go-jsonnet's messages name the file.
func (im *confinedImporter) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	from := "."
	if importedFrom != "" {
		from = path.Dir(importedFrom)
	}
	for _, dir := range append([]string{from}, im.search...) {
		rel, err := resolveImport(im.root, dir, importedPath, importedFrom)
		if err != nil {
			return jsonnet.Contents{}, "", im.refuse(err)
		}
		e := im.load(rel)
		if e.err != nil {
			return jsonnet.Contents{}, "", e.err
		}
		if e.found {
			return e.contents, rel, nil
		}
	}
	return jsonnet.Contents{}, "", fmt.Errorf("couldn't open import %q: not found next to the importing file, in the library folders or in the app's folder (%s)", importedPath, displayPath(im.search[len(im.search)-1]))
}

func (im *confinedImporter) refuse(err error) error {
	if im.refused == nil {
		im.refused = err
	}
	return err
}

// resolveImport returns where importedPath, looked up in folder dir,
// lies relative to root, or ErrOutsideRoot naming the importing file.
func resolveImport(root, dir, importedPath, importedFrom string) (string, error) {
	var rel string
	if importedFrom == "" {
		importedFrom = "code in a variable"
	}
	if path.IsAbs(importedPath) {
		clean := path.Clean(importedPath)
		if !within(root, clean) {
			return "", fmt.Errorf("import %q in %s is an absolute path outside the repository: it %w", importedPath, importedFrom, ErrOutsideRoot)
		}
		rel = strings.TrimPrefix(strings.TrimPrefix(clean, root), "/")
		if rel == "" {
			rel = "."
		}
		return rel, nil
	}
	rel = path.Join(dir, importedPath)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("import %q in %s (looked up in %s) %w: imports must stay inside the repository", importedPath, importedFrom, displayPath(dir), ErrOutsideRoot)
	}
	return rel, nil
}

// load reads the file at rel once; later calls get the same Contents, as
// go-jsonnet requires.
func (im *confinedImporter) load(rel string) importEntry {
	if e, ok := im.cache[rel]; ok {
		return e
	}
	im.probes = append(im.probes, rel)
	data, found, err := readConfined(im.root, im.fs, rel, im.budget)
	e := importEntry{found: found, err: err}
	if err != nil {
		im.refuse(err)
	}
	if found {
		im.budget -= int64(len(data))
		e.contents = jsonnet.MakeContentsRaw(data)
	}
	im.cache[rel] = e
	return e
}

// readConfined reads the regular file at rel (relative to root) through
// r, refusing a symlink that leads out of the root by name. found is
// false when nothing is there. At most budget bytes are read.
func readConfined(root string, r *os.Root, rel string, budget int64) (data []byte, found bool, err error) {
	real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", rel, err)
	}
	if !within(root, real) {
		return nil, false, fmt.Errorf("%s: symlink %w", rel, ErrOutsideRoot)
	}
	f, err := r.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s is not a regular file", rel)
	}
	data, err = io.ReadAll(io.LimitReader(f, budget+1))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", rel, err)
	}
	if int64(len(data)) > budget {
		return nil, false, fmt.Errorf("reading %s: more than the render's %d bytes left: %w", rel, budget, ErrTooLarge)
	}
	return data, true, nil
}

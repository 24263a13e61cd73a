package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Argo CD's jsonnet-guestbook example, shortened: a program importing its
// parameters from a .libsonnet next to it.
const (
	guestbookParams = `{ name: "jsonnet-guestbook-ui", replicas: 1, port: 80 }`
	guestbookUI     = `local params = import 'params.libsonnet';
[
  { apiVersion: "v1", kind: "Service", metadata: { name: params.name },
    spec: { ports: [{ port: params.port }], selector: { app: params.name } } },
  { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: params.name },
    spec: { replicas: params.replicas } },
]
`
	// guestbookTLA is the jsonnet-guestbook-tla variant: a function of
	// top-level arguments with defaults.
	guestbookTLA = `function(name="jsonnet-guestbook-ui", replicas=1)
[
  { apiVersion: "v1", kind: "Service", metadata: { name: name } },
  { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: name, labels: { replicas: std.toString(replicas) } } },
]
`
)

func TestJsonnetDirectory(t *testing.T) {
	root := writeTree(t, map[string]string{
		"guestbook/guestbook-ui.jsonnet":  guestbookUI,
		"guestbook/params.libsonnet":      guestbookParams,
		"tla/guestbook-ui.jsonnet":        guestbookTLA,
		"vars/cm.jsonnet":                 `{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: std.extVar("name") }, data: { n: std.toString(std.extVar("n") + 1) } }`,
		"libs/app/cm.jsonnet":             `(import 'k.libsonnet').cm("from-" + (import 'which.libsonnet'))`,
		"libs/app/nested/deeper.jsonnet":  `(import 'k.libsonnet').cm("deeper")`,
		"vendor/k.libsonnet":              `{ cm(name):: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: name } } } + { helper: import 'helper.libsonnet' }`,
		"vendor/helper.libsonnet":         `"next to k.libsonnet"`,
		"vendor/which.libsonnet":          `"vendor"`,
		"override/which.libsonnet":        `"override"`,
		"shapes/a-yaml.yaml":              fmt.Sprintf(configMap, "yaml-first"),
		"shapes/b-nested.jsonnet":         `[null, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "n1" } }, [[{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "n2" } }]]]]`,
		"shapes/c-list.jsonnet":           `{ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "in-list" } }] }`,
		"shapes/d-yaml.jsonnet":           `std.parseYaml(importstr 'cm.txt')`,
		"shapes/cm.txt":                   fmt.Sprintf(configMap, "from-importstr"),
		"shapes/e-empty.jsonnet":          `[]`,
		"shapes/sub/skipped.jsonnet":      `error "only read with recurse"`,
		"shapes/only.libsonnet":           `error "a library is never rendered on its own"`,
		"filtered/keep.jsonnet":           `{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept" } }`,
		"filtered/broken.jsonnet":         `error "excluded, never evaluated"`,
		"filtered/sub/deep.jsonnet":       `{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "deep" } }`,
		"codevars/cm.jsonnet":             `function(data) { apiVersion: "v1", kind: "ConfigMap", metadata: { name: std.extVar("meta").name }, data: data }`,
		"codevars/defaults.libsonnet":     `{ a: "1" }`,
		"symlinked/cm.jsonnet":            `(import 'linked.libsonnet')`,
		"symlinked/real/target.libsonnet": `{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "through-a-link" } }`,
	})
	symlink(t, "real/target.libsonnet", filepath.Join(root, "symlinked/linked.libsonnet"))

	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"the guestbook imports its params", Options{Path: "guestbook"}, []string{
			"guestbook/guestbook-ui.jsonnet Service /jsonnet-guestbook-ui",
			"guestbook/guestbook-ui.jsonnet Deployment /jsonnet-guestbook-ui",
		}},
		{"TLAs default", Options{Path: "tla"}, []string{
			"tla/guestbook-ui.jsonnet Service /jsonnet-guestbook-ui",
			"tla/guestbook-ui.jsonnet Deployment /jsonnet-guestbook-ui",
		}},
		{"TLAs as string and code", Options{Path: "tla", Jsonnet: &Jsonnet{TLAs: []JsonnetVar{
			{Name: "name", Value: "tla-guestbook"}, {Name: "replicas", Value: "1 + 2", Code: true}}}}, []string{
			"tla/guestbook-ui.jsonnet Service /tla-guestbook",
			"tla/guestbook-ui.jsonnet Deployment /tla-guestbook",
		}},
		{"extVars as string and code", Options{Path: "vars", Jsonnet: &Jsonnet{ExtVars: []JsonnetVar{
			{Name: "name", Value: "ext"}, {Name: "n", Value: "41", Code: true}}}}, []string{
			"vars/cm.jsonnet ConfigMap /ext",
		}},
		{"libs from the root, last first; imports next to the importing file", Options{Path: "libs/app", Recurse: true,
			Jsonnet: &Jsonnet{Libs: []string{"override", "/vendor"}}}, []string{
			"libs/app/cm.jsonnet ConfigMap /from-vendor",
			"libs/app/nested/deeper.jsonnet ConfigMap /deeper",
		}},
		{"an object, nested arrays, nulls, lists and YAML in order", Options{Path: "shapes"}, []string{
			"shapes/a-yaml.yaml ConfigMap /yaml-first",
			"shapes/b-nested.jsonnet ConfigMap /n1",
			"shapes/b-nested.jsonnet ConfigMap /n2",
			"shapes/c-list.jsonnet Secret /in-list",
			"shapes/d-yaml.jsonnet ConfigMap /from-importstr",
		}},
		{"exclude keeps a file from being evaluated", Options{Path: "filtered", Exclude: "broken.jsonnet"}, []string{
			"filtered/keep.jsonnet ConfigMap /kept",
		}},
		{"include and recurse", Options{Path: "filtered", Recurse: true, Include: "{keep.jsonnet,sub/*}"}, []string{
			"filtered/keep.jsonnet ConfigMap /kept",
			"filtered/sub/deep.jsonnet ConfigMap /deep",
		}},
		{"code variables import from the app's folder", Options{Path: "codevars", Jsonnet: &Jsonnet{
			ExtVars: []JsonnetVar{{Name: "meta", Value: `{ name: "code" }`, Code: true}},
			TLAs:    []JsonnetVar{{Name: "data", Value: `import 'defaults.libsonnet'`, Code: true}}}}, []string{
			"codevars/cm.jsonnet ConfigMap /code",
		}},
		{"a symlink inside the root", Options{Path: "symlinked"}, []string{
			"symlinked/cm.jsonnet ConfigMap /through-a-link",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Mode = ModeDirectory
			objs, err := renderOnce(t, root, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("values reach the objects", func(t *testing.T) {
		objs, err := renderOnce(t, root, Options{Path: "tla", Mode: ModeDirectory, Jsonnet: &Jsonnet{TLAs: []JsonnetVar{{Name: "replicas", Value: "3", Code: true}}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := find(t, objs, "Deployment", "jsonnet-guestbook-ui").Obj.GetLabels()["replicas"]; got != "3" {
			t.Errorf("replicas label %q, want 3", got)
		}
		objs, err = renderOnce(t, root, Options{Path: "vars", Mode: ModeDirectory, Jsonnet: &Jsonnet{ExtVars: []JsonnetVar{{Name: "name", Value: "x"}, {Name: "n", Value: "41", Code: true}}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := find(t, objs, "ConfigMap", "x").Obj.Object["data"]; fmt.Sprint(got) != "map[n:42]" {
			t.Errorf("data %v, want n: 42", got)
		}
	})
}

// Errors name the file; imports never leave the source root, lexically
// or through a symlink, and the file outside is never read.
func TestJsonnetErrors(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.libsonnet"), []byte(`"stolen"`), 0o644); err != nil {
		t.Fatal(err)
	}
	root := writeTree(t, map[string]string{
		"dotdot/app.jsonnet":     `import '../../../../../../../../etc/passwd'`,
		"abs/app.jsonnet":        `importstr '/etc/passwd'`,
		"abs-in/app.jsonnet":     `importstr '` + filepath.ToSlash(outside) + `/secret.libsonnet'`,
		"link/app.jsonnet":       `import '../links/secret.libsonnet'`,
		"linkdir/app.jsonnet":    `import '../links/out/secret.libsonnet'`,
		"code/app.jsonnet":       `std.extVar("x")`,
		"libout/app.jsonnet":     `import 'secret.libsonnet'`,
		"string/app.jsonnet":     `"a string"`,
		"nokind/app.jsonnet":     `[{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ok" } }, { metadata: { name: "x" } }]`,
		"number/app.jsonnet":     `[1]`,
		"noname/app.jsonnet":     `{ apiVersion: "v1", kind: "ConfigMap" }`,
		"syntax/app.jsonnet":     "{\n  a: ,\n}",
		"error/app.jsonnet":      `error "boom from the repository"`,
		"missing/app.jsonnet":    `import 'nowhere.libsonnet'`,
		"needtla/app.jsonnet":    `function(name) { apiVersion: "v1", kind: "ConfigMap", metadata: { name: name } }`,
		"folder/app.jsonnet":     `import 'sub'`,
		"folder/sub/x.libsonnet": `{}`,
		"big/app.jsonnet":        `importstr 'big.txt'`,
		"big/big.txt":            strings.Repeat("x", 4000),
	})
	// Outside the rendered folders: a directory render refuses a symlink
	// leading out of the root in its own folder before any evaluation.
	symlink(t, filepath.Join(outside, "secret.libsonnet"), filepath.Join(root, "links/secret.libsonnet"))
	symlink(t, outside, filepath.Join(root, "links/out"))

	tests := []struct {
		name string
		opts Options
		want []string // in the message
		is   error
	}{
		{"import through ..", Options{Path: "dotdot"}, []string{"dotdot/app.jsonnet", `"../../../../../../../../etc/passwd"`, "leaves the source root"}, ErrOutsideRoot},
		{"absolute import", Options{Path: "abs"}, []string{"abs/app.jsonnet", `"/etc/passwd"`, "outside the repository"}, ErrOutsideRoot},
		{"absolute import of a file that exists", Options{Path: "abs-in"}, []string{"abs-in/app.jsonnet", "outside the repository"}, ErrOutsideRoot},
		{"symlinked file", Options{Path: "link"}, []string{"link/app.jsonnet", "links/secret.libsonnet: symlink leaves the source root"}, ErrOutsideRoot},
		{"symlinked folder", Options{Path: "linkdir"}, []string{"linkdir/app.jsonnet", "links/out/secret.libsonnet: symlink leaves the source root"}, ErrOutsideRoot},
		{"import in code", Options{Path: "code", Jsonnet: &Jsonnet{ExtVars: []JsonnetVar{{Name: "x", Value: `import '../../etc/passwd'`, Code: true}}}},
			[]string{"code/app.jsonnet", "code in a variable", "leaves the source root"}, ErrOutsideRoot},
		{"a library folder outside", Options{Path: "libout", Jsonnet: &Jsonnet{Libs: []string{"../" + filepath.Base(outside)}}}, []string{"jsonnet libs[0]", "leaves the source root"}, ErrOutsideRoot},
		{"a string", Options{Path: "string"}, []string{"string/app.jsonnet", "the output is a string"}, nil},
		{"no kind", Options{Path: "nokind"}, []string{"nokind/app.jsonnet", "element [1] is not a Kubernetes object"}, nil},
		{"a number", Options{Path: "number"}, []string{"number/app.jsonnet", "element [0] is a number"}, nil},
		{"no name", Options{Path: "noname"}, []string{"noname/app.jsonnet", "ConfigMap has no metadata.name"}, nil},
		{"syntax", Options{Path: "syntax"}, []string{"syntax/app.jsonnet", "syntax/app.jsonnet:2:"}, nil},
		{"error", Options{Path: "error"}, []string{"error/app.jsonnet", "boom from the repository"}, nil},
		{"missing import", Options{Path: "missing"}, []string{"missing/app.jsonnet", `couldn't open import "nowhere.libsonnet"`}, nil},
		{"unset TLA", Options{Path: "needtla"}, []string{"needtla/app.jsonnet", "name"}, nil},
		{"a folder", Options{Path: "folder"}, []string{"folder/app.jsonnet", "folder/sub is not a regular file"}, nil},
		{"imports count against MaxBytes", Options{Path: "big", MaxBytes: 1000}, []string{"big/app.jsonnet", "big/big.txt"}, ErrTooLarge},
		{"a nameless variable", Options{Path: "code", Jsonnet: &Jsonnet{TLAs: []JsonnetVar{{Value: "x"}}}}, []string{"jsonnet tlas[0]: name is required"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Mode = ModeDirectory
			objs, err := renderOnce(t, root, tt.opts)
			if err == nil {
				t.Fatalf("rendered %v, want an error", summary(objs))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "stolen") || strings.Contains(err.Error(), "root:x:") {
				t.Errorf("error %q shows a file outside the root", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestJsonnetOnlyInDirectoryMode(t *testing.T) {
	root := writeTree(t, map[string]string{"app/cm.yaml": fmt.Sprintf(configMap, "a")})
	for _, mode := range []Mode{ModeAuto, ModeKustomize} {
		_, err := renderOnce(t, root, Options{Path: "app", Mode: mode, Jsonnet: &Jsonnet{}})
		if err == nil || !strings.Contains(err.Error(), "Jsonnet apply to mode Directory only") {
			t.Errorf("%s: error %v, want Jsonnet refused", mode, err)
		}
	}
}

// A Jsonnet program may run forever or eat memory; each is stopped with
// an error naming the file, and the renderer goes on.
func TestJsonnetBounds(t *testing.T) {
	root := writeTree(t, map[string]string{
		"recursion/app.jsonnet": `local f(x) = f(x + 1); f(0)`,
		"forever/app.jsonnet":   `local f(x) = f(x + 1) tailstrict; f(0)`,
		"memory/app.jsonnet":    `local f(x) = f(x + x) tailstrict; f("abcdefgh")`,
		"output/app.jsonnet":    `[{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "big" }, data: { x: std.repeat("x", 5000) } }]`,
		"fine/app.jsonnet":      `{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "fine" } }`,
	})
	defer func(m int64) { jsonnetMaxMemory = m }(jsonnetMaxMemory)
	jsonnetMaxMemory = 64 << 20
	r := NewRenderer(0)
	r.Timeout = time.Second

	tests := []struct {
		name    string
		opts    Options
		want    string
		is      error
		longest time.Duration
	}{
		{"deep recursion", Options{Path: "recursion"}, "recursion/app.jsonnet: RUNTIME ERROR: max stack frames exceeded", nil, 5 * time.Second},
		{"a loop without end", Options{Path: "forever"}, "forever/app.jsonnet: Jsonnet evaluation stopped after 1s", ErrTimeout, r.Timeout + 5*time.Second},
		{"memory", Options{Path: "memory"}, "memory/app.jsonnet: Jsonnet evaluation stopped: it used more than 64 MiB of memory", ErrTooLarge, r.Timeout + 5*time.Second},
		{"output", Options{Path: "output", MaxBytes: 4000}, "output/app.jsonnet: the outputs are larger than 4000 bytes", ErrTooLarge, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Mode = ModeDirectory
			start := time.Now()
			_, err := r.Render(context.Background(), root, "k", tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if took := time.Since(start); took > tt.longest {
				t.Errorf("took %s, want at most %s", took, tt.longest)
			}
		})
	}

	t.Run("a caller that gives up stops the worker", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := NewRenderer(0).Render(ctx, root, "k", Options{Path: "forever", Mode: ModeDirectory})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the context's", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("took %s", took)
		}
	})

	t.Run("other renders go on", func(t *testing.T) {
		objs, err := r.Render(context.Background(), root, "k", Options{Path: "fine", Mode: ModeDirectory})
		if err != nil || len(objs) != 1 {
			t.Fatalf("got %v, %v", summary(objs), err)
		}
	})
}

// A new revision whose files and imports are those of the last render
// reuses its objects; a changed import, or a new file where an import was
// looked for first, evaluates again.
func TestJsonnetReuse(t *testing.T) {
	files := map[string]string{
		"app/guestbook-ui.jsonnet": guestbookUI,
		"vendor/params.libsonnet":  guestbookParams,
		"other/cm.yaml":            fmt.Sprintf(configMap, "other"),
	}
	r := NewRenderer(16)
	opts := Options{Path: "app", Mode: ModeDirectory, Jsonnet: &Jsonnet{Libs: []string{"vendor"}}}
	render := func(rev string, files map[string]string) []Object {
		t.Helper()
		objs, err := r.Render(context.Background(), writeTree(t, files), rev, opts)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	render("rev1", files)
	files["other/cm.yaml"] = fmt.Sprintf(configMap, "changed")
	render("rev2", files)
	if got := r.Reused(); got != 1 {
		t.Fatalf("reused %d renders after an unrelated change, want 1", got)
	}

	files["vendor/params.libsonnet"] = strings.Replace(guestbookParams, "jsonnet-guestbook-ui", "renamed", 1)
	objs := render("rev3", files)
	find(t, objs, "Deployment", "renamed")

	files["app/params.libsonnet"] = `{ name: "nearer", replicas: 1, port: 80 }`
	objs = render("rev4", files)
	find(t, objs, "Deployment", "nearer")
	if got := r.Reused(); got != 1 {
		t.Errorf("reused %d renders, want still 1", got)
	}
}

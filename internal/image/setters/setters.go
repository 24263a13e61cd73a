// Package setters rewrites the image references that Flux's
// ImageUpdateAutomation "Setters" strategy marks with a line comment:
//
//	image: ghcr.io/stefanprodan/podinfo:6.0.0 # {"$imagepolicy": "flux-system:podinfo"}
//	tag: 6.0.0 # {"$imagepolicy": "flux-system:podinfo:tag"}
//
// A marker names an ImagePolicy as "<namespace>:<name>", optionally with
// ":tag", ":name" or ":digest" for a part of the image. Only the marked
// scalar changes: the rest of the file, comments, quoting and indentation
// included, stays byte for byte.
package setters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Image is the latest image an ImagePolicy chose.
type Image struct {
	// Name is the repository ("ghcr.io/stefanprodan/podinfo").
	Name string
	// Tag is the chosen tag; Digest its digest when reflected.
	Tag, Digest string
}

// String is the full reference: name:tag, with @digest when known.
func (i Image) String() string {
	s := i.Name + ":" + i.Tag
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// Change is one rewritten value.
type Change struct {
	// File is the path relative to the updated folder, with slashes.
	File string
	// Line is where the value is (1-based).
	Line int
	// OldValue and NewValue are the scalar before and after.
	OldValue, NewValue string
	// Setter is the marker's policy reference ("flux-system:podinfo:tag").
	Setter string
}

// Result is what Update changed.
type Result struct {
	// Changes in file order.
	Changes []Change
	// Images are the policies' images used by a change, by policy
	// ("<namespace>:<name>").
	Images map[string]Image
}

// Files are the changed files, sorted.
func (r *Result) Files() []string {
	var out []string
	for _, c := range r.Changes {
		if !slices.Contains(out, c.File) {
			out = append(out, c.File)
		}
	}
	sort.Strings(out)
	return out
}

// maxFile bounds the files read (a repository may hold anything).
const maxFile = 4 << 20

// Update rewrites the marked values of every YAML file under dir, with
// policies' images by "<namespace>:<name>". A marker naming an unknown
// policy is left alone. Symlinks are not followed.
func Update(dir string, policies map[string]Image) (*Result, error) {
	res := &Result{Images: map[string]Image{}}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || (!strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml")) {
			return nil
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
		f.Close()
		if err != nil || len(data) > maxFile || !bytes.Contains(data, []byte("$imagepolicy")) {
			return err
		}
		out, changes, err := UpdateFile(data, policies)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(changes) == 0 {
			return nil
		}
		for i := range changes {
			changes[i].File = p
			ns, name, _ := splitSetter(changes[i].Setter)
			res.Images[ns+":"+name] = policies[ns+":"+name]
		}
		res.Changes = append(res.Changes, changes...)
		info, err := d.Info()
		if err != nil {
			return err
		}
		return root.WriteFile(p, out, info.Mode().Perm())
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// marker is the JSON of a setter comment.
type marker struct {
	Policy string `json:"$imagepolicy"`
}

// splitSetter reads "<namespace>:<name>[:tag|:name|:digest]".
func splitSetter(s string) (ns, name, part string) {
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 2:
		return parts[0], parts[1], ""
	case 3:
		return parts[0], parts[1], parts[2]
	}
	return "", "", ""
}

// edit is one value to replace in the file's bytes.
type edit struct {
	line, col int // 1-based, of the scalar's first character
	change    Change
	style     yaml.Style
}

// UpdateFile rewrites the marked values of one YAML stream (several
// documents allowed) and returns the new bytes and the changes; a file
// that does not parse as YAML is an error naming the line.
func UpdateFile(data []byte, policies map[string]Image) ([]byte, []Change, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var edits []edit
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		walk(&doc, func(n *yaml.Node) {
			if n.Kind != yaml.ScalarNode || !strings.Contains(n.LineComment, "$imagepolicy") {
				return
			}
			var m marker
			if json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(n.LineComment), "#"))), &m) != nil {
				return
			}
			ns, name, part := splitSetter(m.Policy)
			img, ok := policies[ns+":"+name]
			if !ok || img.Tag == "" {
				return
			}
			var v string
			switch part {
			case "":
				v = img.String()
			case "tag":
				v = img.Tag
			case "name":
				v = img.Name
			case "digest":
				v = img.Digest
			default:
				return
			}
			if v == "" || v == n.Value || strings.ContainsAny(n.Value, "\n") {
				return
			}
			edits = append(edits, edit{line: n.Line, col: n.Column, style: n.Style,
				change: Change{Line: n.Line, OldValue: n.Value, NewValue: v, Setter: m.Policy}})
		})
	}
	if len(edits) == 0 {
		return data, nil, nil
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var changes []Change
	for _, e := range edits {
		if e.line < 1 || e.line > len(lines) {
			continue
		}
		l := lines[e.line-1]
		start := e.col - 1
		if start < 0 || start >= len(l) {
			continue
		}
		end, ok := scalarEnd(l, start, e.style)
		// The marker must follow the value on its own line, and a plain
		// value must be written as it reads (no multi-line folding).
		if !ok || !bytes.Contains(l[end:], []byte("$imagepolicy")) || (e.style == 0 && string(l[start:end]) != e.change.OldValue) {
			continue
		}
		var repl string
		switch e.style {
		case yaml.DoubleQuotedStyle:
			b, _ := json.Marshal(e.change.NewValue)
			repl = string(b)
		case yaml.SingleQuotedStyle:
			repl = "'" + strings.ReplaceAll(e.change.NewValue, "'", "''") + "'"
		default:
			repl = e.change.NewValue
		}
		lines[e.line-1] = append(append(append([]byte{}, l[:start]...), repl...), l[end:]...)
		changes = append(changes, e.change)
	}
	return bytes.Join(lines, nil), changes, nil
}

// scalarEnd finds where the scalar starting at start ends on line l.
func scalarEnd(l []byte, start int, style yaml.Style) (int, bool) {
	switch style {
	case yaml.DoubleQuotedStyle:
		for i := start + 1; i < len(l); i++ {
			switch l[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	case yaml.SingleQuotedStyle:
		for i := start + 1; i < len(l); i++ {
			if l[i] == '\'' {
				if i+1 < len(l) && l[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
		return 0, false
	case 0:
		// A plain scalar ends before " #" (its comment) or the line's end.
		end := len(bytes.TrimRight(l, "\r\n"))
		if i := bytes.Index(l[start:], []byte(" #")); i >= 0 {
			end = start + i
		}
		return start + len(bytes.TrimRight(l[start:end], " \t")), true
	}
	return 0, false // block scalars are never marked values
}

// walk calls fn for n and every node below it.
func walk(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		walk(c, fn)
	}
}

// Dir joins the repository folder and spec.update.path, refusing a path
// that is absolute or leaves the repository.
func Dir(repo, path string) (string, error) {
	p := filepath.FromSlash(strings.TrimPrefix(path, "./"))
	if p == "" || p == "." {
		return repo, nil
	}
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("spec.update.path %q must be relative and stay inside the repository", path)
	}
	return filepath.Join(repo, p), nil
}

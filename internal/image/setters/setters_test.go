package setters

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var podinfo = map[string]Image{"flux-system:podinfo": {Name: "ghcr.io/stefanprodan/podinfo", Tag: "6.0.1", Digest: "sha256:abc"}}

func TestUpdateFileKeepsEverythingElse(t *testing.T) {
	tests := []struct {
		name, in, want string
		changes        int
	}{
		{"whole image, list item",
			"spec:\n  containers:\n    - name: podinfo   # the app\n      image: ghcr.io/stefanprodan/podinfo:6.0.0 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n",
			"spec:\n  containers:\n    - name: podinfo   # the app\n      image: ghcr.io/stefanprodan/podinfo:6.0.1@sha256:abc # {\"$imagepolicy\": \"flux-system:podinfo\"}\n", 1},
		{"tag, name and digest parts, quoted",
			"image:\n  repository: \"old/name\" # {\"$imagepolicy\": \"flux-system:podinfo:name\"}\n  tag: '6.0.0' # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n  digest: x #{\"$imagepolicy\":\"flux-system:podinfo:digest\"}\n",
			"image:\n  repository: \"ghcr.io/stefanprodan/podinfo\" # {\"$imagepolicy\": \"flux-system:podinfo:name\"}\n  tag: '6.0.1' # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n  digest: sha256:abc #{\"$imagepolicy\":\"flux-system:podinfo:digest\"}\n", 3},
		{"several documents; an unknown policy and an unmarked value untouched",
			"a: 1\n---\nimage: x:1 # {\"$imagepolicy\": \"other:policy\"}\nplain: 6.0.0\n---\n# head\ntag: 6.0.0 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n",
			"a: 1\n---\nimage: x:1 # {\"$imagepolicy\": \"other:policy\"}\nplain: 6.0.0\n---\n# head\ntag: 6.0.1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n", 1},
		{"already current", "tag: 6.0.1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n",
			"tag: 6.0.1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n", 0},
		{"CRLF lines", "tag: 6.0.0 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\r\nx: y\r\n",
			"tag: 6.0.1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\r\nx: y\r\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changes, err := UpdateFile([]byte(tt.in), podinfo)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || len(changes) != tt.changes {
				t.Errorf("got %d changes:\n%s\nwant %d:\n%s", len(changes), out, tt.changes, tt.want)
			}
		})
	}
	if _, _, err := UpdateFile([]byte("a: [\n"), podinfo); err == nil {
		t.Error("broken YAML: no error")
	}
}

func TestUpdateWalksTheFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clusters/my-cluster/podinfo.yaml", "image: ghcr.io/stefanprodan/podinfo:6.0.0 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n")
	write("clusters/my-cluster/notes.txt", "image: x # {\"$imagepolicy\": \"flux-system:podinfo\"}\n")
	write("elsewhere/app.yaml", "tag: 1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n")
	sub, err := Dir(dir, "./clusters/my-cluster")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Update(sub, podinfo)
	if err != nil {
		t.Fatal(err)
	}
	if files := res.Files(); strings.Join(files, ",") != "podinfo.yaml" {
		t.Errorf("files %v", files)
	}
	if res.Images["flux-system:podinfo"].Tag != "6.0.1" {
		t.Errorf("images %v", res.Images)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "elsewhere/app.yaml"))
	if !strings.Contains(string(data), "tag: 1 ") {
		t.Error("a file outside spec.update.path changed")
	}
	for _, bad := range []string{"../x", "/etc", "a/../../b"} {
		if _, err := Dir(dir, bad); err == nil {
			t.Errorf("Dir(%q): no error", bad)
		}
	}
}

func FuzzUpdateFile(f *testing.F) {
	f.Add([]byte("image: a:1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n"))
	f.Add([]byte("t: '1' # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n---\nx: \"a\\\"b\" # {\"$imagepolicy\": \"flux-system:podinfo:name\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, changes, err := UpdateFile(data, podinfo)
		if err != nil {
			return
		}
		if len(changes) == 0 && string(out) != string(data) {
			t.Fatal("no change reported, but the bytes changed")
		}
		if len(changes) > 0 {
			// The result parses, and updating it again changes nothing.
			again, more, err := UpdateFile(out, podinfo)
			if err != nil || len(more) != 0 || string(again) != string(out) {
				t.Fatalf("a second update of %q: %v, %d more changes", out, err, len(more))
			}
		}
	})
}

package kustomization

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// TestNoRemoteBases: with --no-remote-bases a Kustomization builds local
// bases and refuses a remote base or file at any depth, naming the
// kustomization file, the entry and the flag; without it, kustomize
// fetches the remote base (here a Git repository on disk).
func TestNoRemoteBases(t *testing.T) {
	configMap := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n"
	}
	kustomization := func(resources ...string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + strings.Join(resources, "\n- ") + "\n"
	}
	base := map[string]string{"base/kustomization.yaml": kustomization("cm.yaml"), "base/cm.yaml": configMap("base")}
	remote := "https://github.com/org/repo//deploy?ref=v1"
	withBase := func(files map[string]string) map[string]string {
		maps.Copy(files, base)
		return files
	}
	for _, tc := range []struct {
		name      string
		files     map[string]string
		noRemote  bool
		gitBase   bool // add a base in a Git repository on disk, as a file:// URL
		want      int
		wantError []string // parts of the Ready message, when refused
	}{
		{name: "a local base is built",
			files: withBase(map[string]string{"app/kustomization.yaml": kustomization("cm.yaml", "../base"), "app/cm.yaml": configMap("app")}), noRemote: true, want: 2},
		{name: "a remote base is refused",
			files:    withBase(map[string]string{"app/kustomization.yaml": kustomization("cm.yaml", "../base", remote), "app/cm.yaml": configMap("app")}),
			noRemote: true, wantError: []string{`app/kustomization.yaml: resources "` + remote + `"`, "remote bases are not allowed", "--no-remote-bases"}},
		{name: "a remote file of a generator is refused",
			files:    map[string]string{"app/kustomization.yaml": "configMapGenerator:\n- name: x\n  files: [https://example.com/app.properties]\n"},
			noRemote: true, wantError: []string{`app/kustomization.yaml: files "https://example.com/app.properties"`, "--no-remote-bases"}},
		{name: "a remote base of a local base is refused",
			files: map[string]string{"app/kustomization.yaml": kustomization("../base"),
				"base/kustomization.yaml": kustomization("cm.yaml", "github.com/org/repo/deploy"), "base/cm.yaml": configMap("base")},
			noRemote: true, wantError: []string{`base/kustomization.yaml: resources "github.com/org/repo/deploy"`, "--no-remote-bases"}},
		{name: "without the flag a remote base is fetched",
			files: map[string]string{"app/cm.yaml": configMap("app")}, gitBase: true, want: 2},
		{name: "with the flag the same remote base is refused",
			files: map[string]string{"app/cm.yaml": configMap("app")}, gitBase: true, noRemote: true, wantError: []string{"file://", "--no-remote-bases"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files
			if tc.gitBase {
				files = map[string]string{"app/kustomization.yaml": kustomization("cm.yaml", gitRepo(t, base)+"//base?ref=main")}
				maps.Copy(files, tc.files)
			}
			root := t.TempDir()
			for name, data := range files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := &Reconciler{Renderer: render.NewRenderer(4), Tenancy: tenancy.Policy{NoRemoteBases: tc.noRemote}}
			ks := &kustomizev1.Kustomization{Spec: kustomizev1.KustomizationSpec{Path: "./app"}}
			objs, err := r.Renderer.Render(context.Background(), root, tc.name, r.renderOptions(ks, nil, nil))
			if len(tc.wantError) == 0 {
				if err != nil || len(objs) != tc.want {
					t.Fatalf("got %d objects, %v; want %d", len(objs), err, tc.want)
				}
				return
			}
			if !errors.Is(err, render.ErrRemoteBase) {
				t.Fatalf("error %v, want ErrRemoteBase", err)
			}
			msg := buildError("main@sha1:abc", err).Error()
			for _, part := range tc.wantError {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q lacks %q", msg, part)
				}
			}
		})
	}
}

// gitRepo commits files to a new Git repository on disk (branch main) and
// returns its file:// URL.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return "file://" + dir
}

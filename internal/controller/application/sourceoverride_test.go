package application

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestSourceOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := argov1.ApplicationSource{RepoURL: "https://git.example.com/a.git", Path: "app", TargetRevision: "main",
		Kustomize: &argov1.ApplicationSourceKustomize{NamePrefix: "p-", Images: []string{"nginx:1"}}}
	got, err := withSourceOverrides(dir, src, "guestbook")
	if err != nil || got.Kustomize.Images[0] != "nginx:1" {
		t.Fatalf("no override files: %+v, %v", got.Kustomize, err)
	}
	write("app/.argocd-source.yaml", "kustomize:\n  commonLabels: {team: a}\n")
	write("app/.argocd-source-guestbook.yaml", "kustomize:\n  images: [nginx:2]\n")
	write("app/.argocd-source-other.yaml", "kustomize:\n  images: [nginx:9]\n")
	write("elsewhere/.argocd-source-guestbook.yaml", "path: ../../etc\nrepoURL: https://evil.example.com/x.git\n")
	got, err = withSourceOverrides(dir, src, "guestbook")
	if err != nil {
		t.Fatal(err)
	}
	if k := got.Kustomize; k.Images[0] != "nginx:2" || k.CommonLabels["team"] != "a" || k.NamePrefix != "p-" {
		t.Errorf("merged kustomize %+v: want the app's image, the shared label and the spec's prefix", k)
	}
	// An override cannot move the source.
	write("app/.argocd-source-guestbook.yaml", "repoURL: https://evil.example.com/x.git\npath: ../..\ntargetRevision: evil\n")
	got, err = withSourceOverrides(dir, src, "guestbook")
	if err != nil || got.RepoURL != src.RepoURL || got.Path != "app" || got.TargetRevision != "main" {
		t.Errorf("override moved the source: %+v, %v", got, err)
	}
	write("app/.argocd-source-guestbook.yaml", "kustomize: [\n")
	if _, err := withSourceOverrides(dir, src, "guestbook"); err == nil || !strings.Contains(err.Error(), ".argocd-source-guestbook.yaml") {
		t.Errorf("broken override: %v, want an error naming the file", err)
	}
}

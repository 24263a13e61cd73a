package gitserve_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/tether-gitops/tether/internal/gitserve"
)

func start(t *testing.T, opts gitserve.Options) *gitserve.Server {
	t.Helper()
	opts.Dir = t.TempDir()
	srv, err := gitserve.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// gitClient is a git CLI user of the server, with its own private HOME.
type gitClient struct {
	t   *testing.T
	ctx context.Context
	git *gitserve.Git
}

func newClient(t *testing.T) *gitClient {
	t.Helper()
	g, err := gitserve.NewGit(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return &gitClient{t: t, ctx: ctx, git: g}
}

// run runs git in dir.
func (c *gitClient) run(dir string, args ...string) (string, error) {
	return c.git.Run(c.ctx, dir, args...)
}

// must runs git in dir and fails the test on error.
func (c *gitClient) must(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.git.Run(c.ctx, dir, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// TestCreateRepoFromDir serves a folder as a repository whose HEAD
// resolves, as `targetRevision: HEAD` needs, for git and for go-git, and
// takes pushes.
func TestCreateRepoFromDir(t *testing.T) {
	src := t.TempDir()
	for path, content := range map[string]string{
		"README.md": "hello\n", "guestbook/deploy.yaml": "kind: Deployment\n", "bin/run.sh": "#!/bin/sh\n",
	} {
		full := filepath.Join(src, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := start(t, gitserve.Options{})
	ctx := context.Background()
	repo, commit, err := srv.CreateRepoFromDir(ctx, "org/apps.git", src)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Name != "org/apps" || repo.URL != srv.URL+"/org/apps.git" {
		t.Errorf("repo = %+v", repo)
	}

	c := newClient(t)
	if got := c.must("", "ls-remote", "--symref", repo.URL, "HEAD"); !strings.Contains(got, "ref: refs/heads/master\tHEAD") ||
		!strings.Contains(got, commit+"\tHEAD") {
		t.Errorf("ls-remote HEAD = %q, want HEAD -> master at %s", got, commit)
	}
	refs, err := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{repo.URL}}).
		ListContext(c.ctx, &git.ListOptions{})
	if err != nil {
		t.Fatalf("go-git list %s: %v", repo.URL, err)
	}
	heads := map[plumbing.ReferenceName]string{}
	for _, ref := range refs {
		heads[ref.Name()] = ref.String()
	}
	if want := "ref: refs/heads/master HEAD"; heads[plumbing.HEAD] != want {
		t.Errorf("go-git HEAD = %q, want %q (all: %v)", heads[plumbing.HEAD], want, heads)
	}

	dir := filepath.Join(t.TempDir(), "clone")
	c.must("", "clone", "-q", repo.URL, dir)
	if got := c.must(dir, "ls-files", "-s", "bin/run.sh"); !strings.HasPrefix(got, "100755") {
		t.Errorf("bin/run.sh lost its executable bit: %q", got)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "guestbook/deploy.yaml")); err != nil || string(data) != "kind: Deployment\n" {
		t.Errorf("guestbook/deploy.yaml = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(repo.Path, "index")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an index was left in the bare repository: %v", err)
	}

	c.must(dir, "commit", "-q", "--allow-empty", "-m", "second")
	c.must(dir, "push", "-q", "origin", "HEAD:refs/heads/master")
	pushed := c.must(dir, "rev-parse", "HEAD")
	if got := c.must("", "ls-remote", repo.URL, "refs/heads/master"); !strings.HasPrefix(got, pushed) {
		t.Errorf("after the push master is %q, want %s", got, pushed)
	}
}

func TestInitRepoNames(t *testing.T) {
	srv := start(t, gitserve.Options{})
	tests := []struct {
		name, want, wantErr string
	}{
		{name: "app", want: "app"},
		{name: "/team/app.git/", want: "team/app"},
		{name: "app", wantErr: "already exists"},
		{name: "../app", wantErr: "clean relative path"},
		{name: "a/../b", wantErr: "clean relative path"},
		{name: "a//b", wantErr: "clean relative path"},
		{name: "", wantErr: "clean relative path"},
	}
	for _, tt := range tests {
		repo, err := srv.InitRepo(context.Background(), tt.name)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("InitRepo(%q) = %+v, %v; want an error with %q", tt.name, repo, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || repo.Name != tt.want):
			t.Errorf("InitRepo(%q) = %+v, %v; want name %q", tt.name, repo, err, tt.want)
		}
	}
}

func TestWrapAndStop(t *testing.T) {
	var seen atomic.Int32
	srv := start(t, gitserve.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen.Add(1)
			if r.Header.Get("X-Let-In") == "" {
				http.Error(w, "no", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	if _, err := srv.InitRepo(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	if out, err := c.run("", "ls-remote", srv.URL+"/app.git"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("ls-remote without the header = %q, %v; want 403", out, err)
	}
	c.must("", "-c", "http.extraHeader=X-Let-In: yes", "ls-remote", srv.URL+"/app.git")
	if seen.Load() < 2 {
		t.Errorf("Wrap saw %d requests, want 2 or more", seen.Load())
	}

	srv.Stop()
	srv.Stop()
	if _, err := http.Get(srv.URL + "/app.git/info/refs?service=git-upload-pack"); err == nil {
		t.Error("the server still answers after Stop")
	}
}

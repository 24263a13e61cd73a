package gitserve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Repo is a bare repository on a Server.
type Repo struct {
	// Name is the repository's name without ".git"; it may contain
	// slashes ("org/app").
	Name string
	// URL is Server.URL + "/" + Name + ".git".
	URL string
	// Path is the folder of the bare repository.
	Path string
}

// InitRepo creates the empty bare repository "<name>.git" (a trailing
// ".git" in name is dropped) whose HEAD is branch master. It fails when
// the repository exists.
func (s *Server) InitRepo(ctx context.Context, name string) (Repo, error) {
	name = strings.TrimSuffix(strings.Trim(name, "/"), ".git")
	if !filepath.IsLocal(filepath.FromSlash(name)) || path.Clean(name) != name {
		return Repo{}, fmt.Errorf("repository name %q must be a clean relative path", name)
	}
	r := Repo{
		Name: name,
		URL:  s.URL + "/" + name + ".git",
		Path: filepath.Join(s.Root, filepath.FromSlash(name)+".git"),
	}
	if err := mkdirAll(filepath.Dir(r.Path)); err != nil {
		return Repo{}, err
	}
	// Mkdir claims the name, so that two callers cannot create one repository.
	if err := os.Mkdir(r.Path, 0o755); errors.Is(err, os.ErrExist) {
		return Repo{}, fmt.Errorf("repository %q already exists", name)
	} else if err != nil {
		return Repo{}, fmt.Errorf("create repository %q: %w", name, err)
	}
	if _, err := s.Git.Run(ctx, s.Root, "init", "-q", "--bare", "--initial-branch=master", r.Path); err != nil {
		return Repo{}, err
	}
	return r, nil
}

// CreateRepoFromDir creates the bare repository "<name>.git" holding the
// files under dir (symbolic links and executable bits kept, .gitignore
// files obeyed) in one commit on branch master, which HEAD names. It
// returns the repository and the commit's hash.
func (s *Server) CreateRepoFromDir(ctx context.Context, name, dir string) (Repo, string, error) {
	work, err := filepath.Abs(dir)
	if err != nil {
		return Repo{}, "", fmt.Errorf("repository %q from %s: %w", name, dir, err)
	}
	if info, err := os.Stat(work); err != nil || !info.IsDir() {
		return Repo{}, "", fmt.Errorf("repository %q: %s is not a folder", name, dir)
	}
	r, err := s.InitRepo(ctx, name)
	if err != nil {
		return Repo{}, "", err
	}
	// The index lives in the bare repository only while the tree is written.
	defer os.Remove(filepath.Join(r.Path, "index"))
	git := func(args ...string) (string, error) {
		return s.Git.Run(ctx, r.Path, append([]string{"--git-dir", r.Path, "--work-tree", work}, args...)...)
	}
	if _, err := git("add", "-A", "."); err != nil {
		return Repo{}, "", err
	}
	tree, err := git("write-tree")
	if err != nil {
		return Repo{}, "", err
	}
	commit, err := git("commit-tree", tree, "-m", "Import "+filepath.Base(work))
	if err != nil {
		return Repo{}, "", err
	}
	if _, err := git("update-ref", "refs/heads/master", commit); err != nil {
		return Repo{}, "", err
	}
	if _, err := git("symbolic-ref", "HEAD", "refs/heads/master"); err != nil {
		return Repo{}, "", err
	}
	return r, commit, nil
}

func mkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

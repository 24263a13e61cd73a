package gitserver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Repo is a bare repository on a Server. Its methods change it the way a
// user would: commit in a work clone, then push to the bare repository
// through the file system, so that the pushes are not in Server.Requests.
// The methods may be called from several goroutines.
type Repo struct {
	// Name is the name given to CreateRepo, without ".git".
	Name string
	// URL is Server.URL + "/" + Name + ".git".
	URL string
	// SSHURL is Server.SSHURL + "/" + Name + ".git", or "" without SSH.
	SSHURL string
	// Path is the directory of the bare repository.
	Path string

	s    *Server
	work string // the work clone
	mu   sync.Mutex
}

// gitTimeout bounds every git command the helpers run.
const gitTimeout = 2 * time.Minute

// CreateRepo creates the empty bare repository "<name>.git" (a trailing
// ".git" in name is dropped) whose default branch is master. Name may
// contain slashes ("org/app").
func (s *Server) CreateRepo(t testing.TB, name string) *Repo {
	t.Helper()
	created, err := s.http.InitRepo(context.Background(), name)
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	r := &Repo{
		Name: created.Name,
		URL:  created.URL,
		Path: created.Path,
		s:    s,
		work: filepath.Join(s.work, filepath.FromSlash(created.Name)),
	}
	if s.SSHURL != "" {
		r.SSHURL = s.SSHURL + "/" + name + ".git"
	}
	s.git(t, s.work, "clone", "-q", r.Path, r.work)
	return r
}

// Commit writes files (slash-separated path -> content; content "" deletes
// the path) on branch, pushes and returns the new commit's hash. A new
// branch starts from master, or has no parent while master does not exist.
// The commit is made even when nothing changes.
func (r *Repo) Commit(t testing.TB, branch string, files map[string]string, msg string) string {
	t.Helper()
	return r.commit(t, branch, msg, func(t testing.TB) {
		t.Helper()
		for p, content := range files {
			full := r.workPath(t, p)
			if err := os.RemoveAll(full); err != nil {
				t.Fatalf("gitserver: %v", err)
			}
			if content == "" {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatalf("gitserver: %v", err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatalf("gitserver: %v", err)
			}
		}
	})
}

// Symlink commits a symbolic link at path pointing to target (which may
// be absolute or leave the repository, for tests of unsafe links) on
// branch, pushes and returns the new commit's hash.
func (r *Repo) Symlink(t testing.TB, branch, path, target, msg string) string {
	t.Helper()
	return r.commit(t, branch, msg, func(t testing.TB) {
		t.Helper()
		full := r.workPath(t, path)
		if err := os.RemoveAll(full); err != nil {
			t.Fatalf("gitserver: %v", err)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatalf("gitserver: %v", err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatalf("gitserver: %v", err)
		}
	})
}

// Tag points the lightweight tag name at commit, moving it if it exists,
// and pushes it.
func (r *Repo) Tag(t testing.TB, name, commit string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetch(t)
	r.s.git(t, r.work, "tag", "-f", name, commit)
	r.s.git(t, r.work, "push", "-q", "-f", "origin", "refs/tags/"+name+":refs/tags/"+name)
}

// SetDefaultBranch points the repository's HEAD at branch, as choosing
// the default branch on a Git hosting service does: clients that follow
// HEAD (Argo CD's targetRevision HEAD) then follow branch.
func (r *Repo) SetDefaultBranch(t testing.TB, branch string) {
	t.Helper()
	r.s.git(t, r.Path, "symbolic-ref", "HEAD", "refs/heads/"+branch)
}

// Head returns the hash of the commit branch points at. It fails the test
// when the branch does not exist.
func (r *Repo) Head(t testing.TB, branch string) string {
	t.Helper()
	hash, err := r.s.runGit(r.Path, "rev-parse", "--verify", "-q", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		t.Fatalf("gitserver: branch %q of %s does not exist", branch, r.URL)
	}
	return hash
}

// commit checks branch out, lets change edit the work tree, then commits
// everything and pushes.
func (r *Repo) commit(t testing.TB, branch, msg string, change func(testing.TB)) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkout(t, branch)
	change(t)
	r.s.git(t, r.work, "add", "-A")
	r.s.git(t, r.work, "commit", "-q", "--allow-empty", "--no-verify", "-m", msg)
	r.s.git(t, r.work, "push", "-q", "origin", "HEAD:refs/heads/"+branch)
	return r.s.git(t, r.work, "rev-parse", "HEAD")
}

// checkout puts the work clone on branch as the bare repository has it,
// or on a new branch from master, or on a new orphan branch.
func (r *Repo) checkout(t testing.TB, branch string) {
	t.Helper()
	r.fetch(t)
	from := ""
	for _, ref := range []string{"refs/remotes/origin/" + branch, "refs/remotes/origin/master"} {
		if r.s.gitOK(r.work, "rev-parse", "--verify", "-q", ref) {
			from = ref
			break
		}
	}
	if from == "" {
		r.s.git(t, r.work, "checkout", "-q", "-f", "--orphan", branch)
		r.s.git(t, r.work, "rm", "-r", "-q", "-f", "--cached", "--ignore-unmatch", ".")
	} else {
		r.s.git(t, r.work, "checkout", "-q", "-f", "-B", branch, from)
	}
	r.s.git(t, r.work, "clean", "-q", "-f", "-d", "-x")
}

// fetch brings the work clone's view of the bare repository up to date.
func (r *Repo) fetch(t testing.TB) {
	t.Helper()
	r.s.git(t, r.work, "fetch", "-q", "--prune", "origin",
		"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
}

// workPath turns a slash-separated path in the repository into a path in
// the work clone, refusing paths that would leave it.
func (r *Repo) workPath(t testing.TB, p string) string {
	t.Helper()
	local := filepath.FromSlash(p)
	first, _, _ := strings.Cut(p, "/")
	if !filepath.IsLocal(local) || first == ".git" {
		t.Fatalf("gitserver: path %q must be relative, inside the repository and not in .git", p)
	}
	return filepath.Join(r.work, local)
}

// git runs git with the helpers' identity in dir and returns its trimmed
// standard output, failing the test with git's output on error.
func (s *Server) git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := s.runGit(dir, args...)
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	return out
}

// gitOK runs git in dir and reports whether it succeeded.
func (s *Server) gitOK(dir string, args ...string) bool {
	_, err := s.runGit(dir, args...)
	return err == nil
}

func (s *Server) runGit(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	return s.cli.Run(ctx, dir, args...)
}

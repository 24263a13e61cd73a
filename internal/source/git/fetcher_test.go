package git

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// newFetcher returns a Fetcher caching in a test directory.
func newFetcher(t *testing.T, opts Options) *Fetcher {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	f, err := NewFetcher(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testCtx is a context bounding one test's calls.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// annotatedTag creates the annotated tag name on commit directly in the
// bare repository (the server reads it from disk), as a user's push would.
func annotatedTag(t *testing.T, repo *gitserver.Repo, name, commit string) string {
	t.Helper()
	r, err := gogit.PlainOpen(repo.Path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := r.CreateTag(name, plumbing.NewHash(commit), &gogit.CreateTagOptions{
		Tagger:  &object.Signature{Name: "Tether Test", Email: "test@example.invalid", When: time.Now()},
		Message: "release " + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ref.Hash().String()
}

// readFile returns the content of a checked-out file, "" when absent.
func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// history is a repository with one of every kind of reference.
type history struct {
	repo                      *gitserver.Repo
	c1, c2, c3, feature, head string // commits; head is master's
}

// newHistory builds, on master: c1 (v1.0.0), c2 (annotated v1.1.0), c3
// (v2.0.0-rc.1, a symlink); and feature, branched from c1.
func newHistory(t *testing.T, srv *gitserver.Server) history {
	t.Helper()
	h := history{repo: srv.CreateRepo(t, "app")}
	h.c1 = h.repo.Commit(t, "master", map[string]string{"version": "1", "deploy/cm.yaml": "kind: ConfigMap\n"}, "one")
	h.repo.Tag(t, "v1.0.0", h.c1)
	h.feature = h.repo.Commit(t, "feature/x", map[string]string{"version": "feature"}, "feature")
	h.c2 = h.repo.Commit(t, "master", map[string]string{"version": "2"}, "two")
	annotatedTag(t, h.repo, "v1.1.0", h.c2)
	h.c3 = h.repo.Symlink(t, "master", "deploy/link", "../version", "three")
	h.repo.Tag(t, "v2.0.0-rc.1", h.c3)
	h.head = h.c3
	return h
}

func TestResolveAndCheckoutEachRefKind(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	h := newHistory(t, srv)
	f := newFetcher(t, Options{})
	tests := []struct {
		ref          Ref
		wantCommit   string
		wantRevision string
		wantVersion  string
	}{
		{Ref{}, h.c3, "master@sha1:" + h.c3, "2"},
		{Ref{Branch: "feature/x"}, h.feature, "feature/x@sha1:" + h.feature, "feature"},
		{Ref{Tag: "v1.0.0"}, h.c1, "v1.0.0@sha1:" + h.c1, "1"},
		{Ref{Tag: "v1.1.0"}, h.c2, "v1.1.0@sha1:" + h.c2, "2"}, // annotated: peeled
		{Ref{SemVer: "1.x"}, h.c2, "v1.1.0@sha1:" + h.c2, "2"},
		{Ref{SemVer: ">=2.0.0-0"}, h.c3, "v2.0.0-rc.1@sha1:" + h.c3, "2"},
		{Ref{Name: "refs/heads/feature/x"}, h.feature, "refs/heads/feature/x@sha1:" + h.feature, "feature"},
		{Ref{Name: "refs/tags/v1.1.0"}, h.c2, "refs/tags/v1.1.0@sha1:" + h.c2, "2"},
		{Ref{Name: "HEAD"}, h.c3, "HEAD@sha1:" + h.c3, "2"},
		{Ref{Commit: h.c1}, h.c1, "sha1:" + h.c1, "1"},
		{Ref{Commit: h.c2, Branch: "master"}, h.c2, "master@sha1:" + h.c2, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			ctx := testCtx(t)
			res, err := f.Resolve(ctx, h.repo.URL, tt.ref, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != tt.wantCommit || res.Revision != tt.wantRevision {
				t.Fatalf("resolved %+v, want commit %s, revision %s", res, tt.wantCommit, tt.wantRevision)
			}
			dir, release, err := f.Checkout(ctx, h.repo.URL, tt.ref, res, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if got := readFile(t, dir, "version"); got != tt.wantVersion {
				t.Errorf("version file %q, want %q", got, tt.wantVersion)
			}
			if _, err := os.Lstat(filepath.Join(dir, ".git")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("checkout has a .git: %v", err)
			}
		})
	}
}

func TestCheckoutKeepsSymlinks(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	h := newHistory(t, srv)
	h.repo.Symlink(t, "master", "escape", "/etc/passwd", "an unsafe link, for the packer to refuse")
	h.repo.Symlink(t, "master", "up", "../../..", "another")
	f := newFetcher(t, Options{})
	ctx := testCtx(t)
	res, err := f.Resolve(ctx, h.repo.URL, Ref{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	dir, release, err := f.Checkout(ctx, h.repo.URL, Ref{}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for link, want := range map[string]string{"deploy/link": "../version", "escape": "/etc/passwd", "up": "../../.."} {
		info, err := os.Lstat(filepath.Join(dir, link))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is %s, want a symbolic link", link, info.Mode())
			continue
		}
		if got, _ := os.Readlink(filepath.Join(dir, link)); got != want {
			t.Errorf("%s -> %q, want %q", link, got, want)
		}
	}
	if got := readFile(t, dir, "deploy/cm.yaml"); got != "kind: ConfigMap\n" {
		t.Errorf("deploy/cm.yaml = %q", got)
	}
}

func TestResolveErrors(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	h := newHistory(t, srv)
	empty := srv.CreateRepo(t, "empty")
	f := newFetcher(t, Options{})
	tests := []struct {
		name string
		url  string
		ref  Ref
		kind error
		msg  string
	}{
		{"unknown branch", h.repo.URL, Ref{Branch: "nope"}, ErrRefNotFound,
			"branch 'nope' not found in " + h.repo.URL},
		{"unknown tag", h.repo.URL, Ref{Tag: "v9"}, ErrRefNotFound, "tag 'v9' not found in " + h.repo.URL},
		{"unknown name", h.repo.URL, Ref{Name: "refs/pull/1/head"}, ErrRefNotFound, "ref 'refs/pull/1/head' not found in"},
		{"commit on unknown branch", h.repo.URL, Ref{Commit: h.c1, Branch: "nope"}, ErrRefNotFound, "branch 'nope' not found in"},
		{"no matching tag", h.repo.URL, Ref{SemVer: ">=3.0.0"}, ErrNoMatchingTag,
			"no tag in " + h.repo.URL + " matches semver range '>=3.0.0'"},
		{"bad semver", h.repo.URL, Ref{SemVer: "three"}, ErrInvalid, "semver range"},
		{"short commit", h.repo.URL, Ref{Commit: h.c1[:7]}, ErrInvalid, "not a full 40-character"},
		{"empty repository", empty.URL, Ref{}, ErrRefNotFound, "branch 'master' not found in " + empty.URL + ": the repository is empty"},
		{"no repository", srv.URL + "/nope.git", Ref{}, ErrRepositoryNotFound, "repository " + srv.URL + "/nope.git not found"},
		{"file URL", "file:///etc", Ref{}, ErrInvalid, `URL scheme "file" is not supported`},
		{"ssh without credentials", "ssh://git@127.0.0.1:1/app.git", Ref{}, ErrInvalid, `needs a private key in the secret's "identity"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Resolve(testCtx(t), tt.url, tt.ref, nil, false)
			t.Log(err)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %v, want kind %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestResolveUnreachable(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	h := newHistory(t, srv)
	f := newFetcher(t, Options{})
	ctx := testCtx(t)
	res, err := f.Resolve(ctx, h.repo.URL, Ref{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err = f.Resolve(ctx, h.repo.URL, Ref{}, nil, true)
	t.Log(err)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach "+h.repo.URL+" (branch 'master')") {
		t.Errorf("error %v, want %v naming the URL and branch", err, ErrUnreachable)
	}
	// Nothing cached for this commit: the checkout needs the server too.
	f2 := newFetcher(t, Options{})
	if _, _, err := f2.Checkout(ctx, h.repo.URL, Ref{}, res, nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("checkout error %v, want %v", err, ErrUnreachable)
	}
}

func TestResolveTTLAndForce(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	c1 := repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	const ttl = 2 * time.Second
	f := newFetcher(t, Options{ResolveTTL: ttl})
	ctx := testCtx(t)
	resolve := func(force bool) string {
		t.Helper()
		res, err := f.Resolve(ctx, repo.URL, Ref{}, nil, force)
		if err != nil {
			t.Fatal(err)
		}
		return res.Commit
	}
	start := time.Now()
	if got := resolve(false); got != c1 {
		t.Fatalf("resolved %s, want %s", got, c1)
	}
	c2 := repo.Commit(t, "master", map[string]string{"v": "2"}, "two")
	wantLists := int64(3)
	if got := resolve(false); time.Since(start) >= ttl {
		wantLists++ // a slow machine: the TTL ran out before the push was done
	} else if got != c1 {
		t.Errorf("within the TTL: resolved %s, want the cached %s", got, c1)
	}
	if got := resolve(true); got != c2 {
		t.Errorf("forced: resolved %s, want %s", got, c2)
	}
	c3 := repo.Commit(t, "master", map[string]string{"v": "3"}, "three")
	time.Sleep(ttl)
	if got := resolve(false); got != c3 {
		t.Errorf("after the TTL: resolved %s, want %s", got, c3)
	}
	if s := f.Stats(); s.Resolves != 4 || s.Lists != wantLists {
		t.Errorf("stats %+v, want 4 resolves and %d listings", s, wantLists)
	}
}

func TestRewrite(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "podinfo")
	want := repo.Commit(t, "master", map[string]string{"kustomize/kustomization.yaml": "resources: []\n"}, "podinfo")
	const public = "https://github.com/stefanprodan/podinfo"
	f := newFetcher(t, Options{Rewrite: func(url string) string {
		if url == public {
			return repo.URL
		}
		return url
	}})
	ctx := testCtx(t)
	res, err := f.Resolve(ctx, public, Ref{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != want {
		t.Fatalf("resolved %s, want %s", res.Commit, want)
	}
	dir, release, err := f.Checkout(ctx, public, Ref{}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if readFile(t, dir, "kustomize/kustomization.yaml") == "" {
		t.Error("checkout misses the file")
	}
	_, err = f.Resolve(ctx, public, Ref{Branch: "nope"}, nil, false)
	if want := "branch 'nope' not found in " + public + " (via " + repo.URL + ")"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if len(srv.Requests()) == 0 {
		t.Error("the loopback server saw no request")
	}
}

// TestOnChange: a listing that differs from the one before it tells every
// listener, under the key of the URL fetched; the first listing and an
// unchanged one tell nobody.
func TestOnChange(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	const public = "https://git.example.com/app.git"
	f := newFetcher(t, Options{Rewrite: func(string) string { return repo.URL }})
	var mu sync.Mutex
	var got []string
	f.OnChange(func(key string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, key)
	})
	ctx := testCtx(t)
	resolve := func() {
		t.Helper()
		if _, err := f.Resolve(ctx, public, Ref{}, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	notices := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	resolve()
	resolve()
	if n := notices(); len(n) != 0 {
		t.Fatalf("notices %v before anything moved", n)
	}
	repo.Commit(t, "master", map[string]string{"v": "2"}, "two")
	resolve()
	if n := notices(); len(n) != 1 || n[0] != f.Key(public) || n[0] != repo.URL {
		t.Fatalf("notices %v after a push, want one for %s", n, repo.URL)
	}
	annotatedTag(t, repo, "v1.0.0", repo.Commit(t, "dev", map[string]string{"v": "3"}, "three"))
	resolve()
	resolve()
	if n := notices(); len(n) != 2 {
		t.Fatalf("notices %v after a new branch and tag, want 2", n)
	}
}

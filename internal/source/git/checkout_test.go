package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// infoRefs counts the ref advertisements the server sent for repo: one per
// listing and one at the start of every fetch.
func infoRefs(srv *gitserver.Server, repo *gitserver.Repo) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && r.Path == "/"+repo.Name+".git/info/refs" {
			n++
		}
	}
	return n
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{Username: "u", Password: "p4ssword"})
	repo := srv.CreateRepo(t, "app")
	want := repo.Commit(t, "main", map[string]string{"a": "1", "b/c": "2"}, "one")
	f := newFetcher(t, Options{})
	auth := mustAuth(t, "username", "u", "password", "p4ssword")
	ref := Ref{Branch: "main"}

	const callers = 50
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		dirs  = make([]string, callers)
		errs  = make([]error, callers)
	)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx := testCtx(t)
			res, err := f.Resolve(ctx, repo.URL, ref, auth, false)
			if err != nil {
				errs[i] = err
				return
			}
			if res.Commit != want {
				errs[i] = errors.New("resolved " + res.Commit)
				return
			}
			dir, release, err := f.Checkout(ctx, repo.URL, ref, res, auth)
			if err != nil {
				errs[i] = err
				return
			}
			defer release()
			if b, err := os.ReadFile(dir + "/b/c"); err != nil || string(b) != "2" {
				errs[i] = errors.New("b/c missing from " + dir)
			}
			dirs[i] = dir
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if dirs[i] != dirs[0] {
			t.Errorf("caller %d got %s, caller 0 got %s", i, dirs[i], dirs[0])
		}
	}
	if n := srv.UploadPacks("app"); n != 1 {
		t.Errorf("server saw %d upload-packs, want 1", n)
	}
	if n := infoRefs(srv, repo); n != 2 {
		t.Errorf("server sent %d ref advertisements, want 2 (one ls-remote, one fetch)", n)
	}
	s := f.Stats()
	if s.Resolves != callers || s.Lists != 1 || s.Clones != 1 || s.Fetches != 1 || s.CheckoutHits != callers-1 || s.BytesFetched == 0 {
		t.Errorf("stats %+v, want %d resolves, 1 listing, 1 clone of 1 fetch, %d hits, some bytes", s, callers, callers-1)
	}
}

func TestCheckoutOfMovedBranch(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	c1 := repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	f := newFetcher(t, Options{})
	ctx := testCtx(t)
	res, err := f.Resolve(ctx, repo.URL, Ref{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	repo.Commit(t, "master", map[string]string{"v": "2"}, "two") // pushed after Resolve
	dir, release, err := f.Checkout(ctx, repo.URL, Ref{}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if res.Commit != c1 || readFile(t, dir, "v") != "1" {
		t.Errorf("checked out v=%q, want the resolved commit's 1", readFile(t, dir, "v"))
	}
	if s := f.Stats(); s.Fetches != 2 {
		t.Errorf("%d fetches, want 2 (the branch, then the commit by hash)", s.Fetches)
	}
}

func TestCheckoutCommitErrors(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	c1 := repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	other := repo.Commit(t, "other", map[string]string{"v": "other"}, "other")
	f := newFetcher(t, Options{})
	ctx := testCtx(t)
	missing := strings.Repeat("ab", 20)
	tests := []struct {
		ref  Ref
		kind error
	}{
		{Ref{Commit: other, Branch: "master"}, ErrCommitNotFound}, // not on that branch
		{Ref{Commit: missing, Branch: "master"}, ErrCommitNotFound},
		{Ref{Commit: missing}, ErrCommitNotFound}, // the server refuses the want
	}
	for _, tt := range tests {
		res, err := f.Resolve(ctx, repo.URL, tt.ref, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.Checkout(ctx, repo.URL, tt.ref, res, nil)
		t.Log(err)
		if !errors.Is(err, tt.kind) {
			t.Errorf("%v: error %v, want %v", tt.ref, err, tt.kind)
		}
	}
	// A failed clone is not cached: the same checkout works once possible.
	ref := Ref{Commit: c1, Branch: "master"}
	res, _ := f.Resolve(ctx, repo.URL, ref, nil, false)
	if _, release, err := f.Checkout(ctx, repo.URL, ref, res, nil); err != nil {
		t.Error(err)
	} else {
		release()
	}
}

func TestCheckoutKeepCommits(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	f := newFetcher(t, Options{KeepCommits: 1})
	ctx := testCtx(t)
	checkout := func(v string) (string, func()) {
		t.Helper()
		repo.Commit(t, "master", map[string]string{"v": v}, v)
		res, err := f.Resolve(ctx, repo.URL, Ref{}, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		dir, release, err := f.Checkout(ctx, repo.URL, Ref{}, res, nil)
		if err != nil {
			t.Fatal(err)
		}
		return dir, release
	}
	exists := func(dir string) bool {
		_, err := os.Stat(dir)
		return err == nil
	}
	d1, r1 := checkout("1")
	d2, r2 := checkout("2")
	if !exists(d1) || !exists(d2) {
		t.Fatal("a checkout in use was removed")
	}
	r1()
	if !exists(d1) {
		t.Error("the only idle checkout was removed")
	}
	r2()
	if exists(d1) || !exists(d2) {
		t.Errorf("with both idle: older exists %v, newer exists %v; want false, true", exists(d1), exists(d2))
	}
	r2() // releasing twice is harmless
	d3, r3 := checkout("3")
	r3()
	if exists(d2) || !exists(d3) {
		t.Errorf("after a newer checkout: old exists %v, new exists %v; want false, true", exists(d2), exists(d3))
	}
	if s := f.Stats(); s.Clones != 3 || s.Fetches != 3 {
		t.Errorf("stats %+v, want 3 clones of one fetch each", s)
	}
}

func TestCheckoutSurvivesRestart(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	cache := t.TempDir()
	ctx := testCtx(t)
	var first string
	for i := range 2 {
		f := newFetcher(t, Options{CacheDir: cache})
		res, err := f.Resolve(ctx, repo.URL, Ref{}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		dir, release, err := f.Checkout(ctx, repo.URL, Ref{}, res, nil)
		if err != nil {
			t.Fatal(err)
		}
		release()
		if i == 0 {
			first = dir
			continue
		}
		if dir != first || f.Stats().Clones != 0 || readFile(t, dir, "v") != "1" {
			t.Errorf("second fetcher: dir %s (first %s), stats %+v; want the adopted checkout", dir, first, f.Stats())
		}
	}
	if n := srv.UploadPacks("app"); n != 1 {
		t.Errorf("%d upload-packs, want 1", n)
	}
}

func TestCheckoutCallerCancels(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	f := newFetcher(t, Options{})
	res, err := f.Resolve(testCtx(t), repo.URL, Ref{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.Checkout(ctx, repo.URL, Ref{}, res, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want %v", err, context.Canceled)
	}
	// The clone a cancelled caller started still serves the next one.
	dir, release, err := f.Checkout(testCtx(t), repo.URL, Ref{}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if readFile(t, dir, "v") != "1" {
		t.Error("checkout misses v")
	}
}

// noFetchByHash serves target through a proxy that hides the
// capabilities allowing fetches by hash, like many servers in the wild.
func noFetchByHash(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/info/refs") || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		var out []byte
		for len(body) >= 4 {
			n, err := strconv.ParseUint(string(body[:4]), 16, 16)
			if err != nil || int(n) > len(body) {
				return fmt.Errorf("bad pkt-line in advertisement")
			}
			if n < 4 { // flush
				out, body = append(out, body[:4]...), body[4:]
				continue
			}
			line := string(body[4:n])
			body = body[n:]
			if strings.Contains(line, "\x00") {
				line = strings.ReplaceAll(line, " allow-tip-sha1-in-want", "")
				line = strings.ReplaceAll(line, " allow-reachable-sha1-in-want", "")
			}
			out = append(out, fmt.Sprintf("%04x%s", len(line)+4, line)...)
		}
		resp.Body = io.NopCloser(bytes.NewReader(out))
		resp.ContentLength = int64(len(out))
		resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckoutWithoutFetchByHash(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app")
	c1 := repo.Commit(t, "master", map[string]string{"v": "1"}, "one")
	repo.Commit(t, "master", map[string]string{"v": "2"}, "two")
	side := repo.Commit(t, "side", map[string]string{"v": "side"}, "side")
	u := noFetchByHash(t, srv.URL) + "/app.git"
	ctx := testCtx(t)

	t.Run("commit", func(t *testing.T) {
		f := newFetcher(t, Options{})
		ref := Ref{Commit: side}
		res, err := f.Resolve(ctx, u, ref, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		dir, release, err := f.Checkout(ctx, u, ref, res, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if got := readFile(t, dir, "v"); got != "side" {
			t.Errorf("v = %q, want side", got)
		}
		if s := f.Stats(); s.Fetches != 2 {
			t.Errorf("%d fetches, want 2 (refused by hash, then every branch and tag)", s.Fetches)
		}
	})
	t.Run("moved branch", func(t *testing.T) {
		f := newFetcher(t, Options{})
		res := Resolved{Commit: c1, RefName: "refs/heads/master", Revision: "master@sha1:" + c1} // as an older Resolve said
		dir, release, err := f.Checkout(ctx, u, Ref{}, res, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if got := readFile(t, dir, "v"); got != "1" {
			t.Errorf("v = %q, want 1", got)
		}
		if s := f.Stats(); s.Fetches != 3 {
			t.Errorf("%d fetches, want 3 (shallow, refused by hash, full branch)", s.Fetches)
		}
	})
}

// TestCheckoutLimits: a commit with more files or bytes than the limits
// allow (a "git bomb" packs small and unpacks huge) fails with
// ErrTooLarge naming the limit, and leaves nothing on disk; a commit within
// them checks out.
func TestCheckoutLimits(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "bomb")
	files := map[string]string{}
	same := strings.Repeat("x", 1000) // one blob, many paths: a tiny pack
	for i := range 40 {
		files[fmt.Sprintf("d%d/f%d", i%4, i)] = same
	}
	head := repo.Commit(t, "main", files, "bomb")
	ref := Ref{Branch: "main"}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"files", Options{MaxFiles: 30}, "more than 30 files"},
		{"bytes", Options{MaxBytes: 20_000}, "more than 20000 bytes"},
		{"within", Options{MaxFiles: 44, MaxBytes: 40_000}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFetcher(t, tc.opts)
			res, err := f.Resolve(testCtx(t), repo.URL, ref, nil, false)
			if err != nil || res.Commit != head {
				t.Fatalf("resolve: %+v, %v", res, err)
			}
			dir, release, err := f.Checkout(testCtx(t), repo.URL, ref, res, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("within the limits: %v", err)
				}
				release()
				if got := readFile(t, dir, "d3/f39"); got != same {
					t.Errorf("d3/f39 = %q", got)
				}
				return
			}
			if err == nil {
				release()
				t.Fatalf("checked out %s over the limit", dir)
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrTooLarge saying %q", err, tc.want)
			}
			for _, sub := range []string{"checkouts", "tmp"} {
				var left []string
				_ = filepathWalkFiles(f.opts.CacheDir+"/"+sub, func(p string) { left = append(left, p) })
				if len(left) > 0 {
					t.Errorf("%s holds %d files after the refusal, first %s", sub, len(left), left[0])
				}
			}
		})
	}
}

// filepathWalkFiles calls fn with every regular file under dir.
func filepathWalkFiles(dir string, fn func(string)) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fn(p)
		}
		return err
	})
}

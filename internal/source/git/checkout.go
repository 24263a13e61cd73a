package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// checkout is one commit's files on disk, or the clone writing them.
type checkout struct {
	done     chan struct{} // closed when dir or err is set
	dir      string
	err      error
	refs     int       // callers holding it
	waiters  int       // callers waiting for the clone; they keep it too
	lastUsed time.Time // of the last Checkout that got it
}

// Checkout returns a directory holding the files of res.Commit, as Resolve
// returned it for ref (a .git directory is not included; symbolic links
// stay links, unresolved). The directory is shared and cached by URL and
// commit: one clone runs at a time per commit, and later calls return the
// cached directory at once. Callers must not modify it, and must call
// release when done; until then it stays on disk. Of the checkouts of a
// URL not in use, the Options.KeepCommits most recently checked out stay;
// the others are removed.
//
// Branches, tags and named refs are fetched shallow: one commit, no tags.
// If the reference moved since Resolve, the commit is fetched by hash, or
// with the reference's history when the server does not allow that. A
// Commit is fetched with the history of its Branch, or of every branch and
// tag, as Flux does. The caller's credentials are checked against the
// remote (usually by the listing Resolve just made) before a cached
// checkout is shared with it. Errors are *Error values.
func (f *Fetcher) Checkout(ctx context.Context, url string, ref Ref, res Resolved, auth *Auth) (dir string, release func(), err error) {
	r, err := f.newRemote("checkout", url, ref, auth)
	if err != nil {
		return "", nil, err
	}
	if !isFullHash(res.Commit) {
		return "", nil, r.fail("checkout", ErrInvalid, fmt.Errorf("resolved commit %q is not a full SHA-1 hash; pass what Resolve returned", res.Commit))
	}
	res.Commit = strings.ToLower(res.Commit)
	if _, err := f.list(ctx, "checkout", r, false); err != nil {
		return "", nil, err
	}
	key := urlKey(r.fetchURL)
	c, err := f.acquire(ctx, r, res, key)
	if err != nil {
		return "", nil, err
	}
	return c.dir, f.releaser(key, c), nil
}

// acquire returns the checkout of res.Commit, holding one reference to it:
// the cached one, the one being cloned once done, or a new clone's.
// Waiting callers keep a clone from being collected before they take it.
func (f *Fetcher) acquire(ctx context.Context, r *remote, res Resolved, key string) (*checkout, error) {
	f.mu.Lock()
	byCommit := f.checkouts[key]
	if byCommit == nil {
		byCommit = map[string]*checkout{}
		f.checkouts[key] = byCommit
	}
	c := byCommit[res.Commit]
	switch {
	case c == nil:
		c = &checkout{done: make(chan struct{})}
		byCommit[res.Commit] = c
		go f.runClone(r, res, key, c)
	case c.ready():
		c.refs++
		c.lastUsed = time.Now()
		f.mu.Unlock()
		f.stats.hits.Add(1)
		return c, nil
	default:
		f.stats.hits.Add(1)
	}
	c.waiters++
	f.mu.Unlock()

	select {
	case <-c.done:
	case <-ctx.Done():
	}
	f.mu.Lock()
	c.waiters--
	ok := c.ready()
	if ok {
		c.refs++
		c.lastUsed = time.Now()
	}
	f.mu.Unlock()
	switch {
	case ok:
		return c, nil
	case ctx.Err() != nil:
		f.collect(key) // the clone may be done, and no longer wanted
		return nil, r.fail("checkout", nil, ctx.Err())
	default:
		return nil, r.fail("checkout", nil, c.err)
	}
}

// ready reports whether c holds a directory. Failed clones leave the map
// before they are done, so a listed checkout is either cloning or ready.
func (c *checkout) ready() bool {
	select {
	case <-c.done:
		return c.err == nil
	default:
		return false
	}
}

// releaser returns the release function of one use of c.
func (f *Fetcher) releaser(key string, c *checkout) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			c.refs--
			f.mu.Unlock()
			f.collect(key)
		})
	}
}

// runClone writes checkout c of res.Commit and publishes it. It runs on its
// own context so that no single caller's cancellation fails the others.
func (f *Fetcher) runClone(r *remote, res Resolved, key string, c *checkout) {
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.Timeout)
	defer cancel()
	dir, err := f.clone(ctx, r, res, key)
	if err != nil && ctx.Err() != nil {
		err = timeoutError{after: f.opts.Timeout, err: err}
	}
	f.mu.Lock()
	if err != nil {
		delete(f.checkouts[key], res.Commit)
		c.err = &kindedError{kind: kindOf(err), err: err, secrets: r.secrets}
	} else {
		c.dir, c.lastUsed = dir, time.Now()
		f.stats.clones.Add(1)
	}
	f.mu.Unlock()
	close(c.done)
	if err == nil {
		f.collect(key)
	}
}

// clone fetches res.Commit into a scratch directory, writes its files and
// moves them into the cache.
func (f *Fetcher) clone(ctx context.Context, r *remote, res Resolved, key string) (string, error) {
	work, err := os.MkdirTemp(f.tmpDir(), "clone-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	repo, err := f.fetchCommit(ctx, r, res, work)
	if err != nil {
		return "", err
	}
	tree := filepath.Join(work, "tree")
	limits := &budget{maxFiles: f.opts.MaxFiles, maxBytes: f.opts.MaxBytes}
	if err := writeCommit(repo, res.Commit, tree, limits); err != nil {
		return "", fmt.Errorf("write files of commit %s: %w", res.Commit, err)
	}
	final := filepath.Join(f.checkoutsDir(), key, res.Commit)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tree, final); err != nil {
		// A directory the Fetcher does not know about (left by a crash
		// between collect's rename and removal): replace it.
		if rmErr := os.RemoveAll(final); rmErr != nil {
			return "", err
		}
		if err := os.Rename(tree, final); err != nil {
			return "", err
		}
	}
	return final, nil
}

// collect removes the checkouts of a URL that are not in use, beyond the
// Options.KeepCommits most recently checked out. Directories are first
// moved out of the cache under the lock, so that a new clone of the same
// commit cannot collide with their removal.
func (f *Fetcher) collect(key string) {
	f.mu.Lock()
	byCommit := f.checkouts[key]
	type entry struct {
		commit string
		c      *checkout
	}
	var idle []entry
	for commit, c := range byCommit {
		if c.ready() && c.refs == 0 && c.waiters == 0 {
			idle = append(idle, entry{commit, c})
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].c.lastUsed.After(idle[j].c.lastUsed) })
	var doomed []string
	for _, e := range idle[min(len(idle), f.opts.KeepCommits):] {
		delete(byCommit, e.commit)
		doomed = append(doomed, f.moveToTrash(e.c.dir))
	}
	f.mu.Unlock()
	for _, dir := range doomed {
		_ = os.RemoveAll(dir) // best effort; NewFetcher empties tmp anyway
	}
}

// moveToTrash moves dir out of the cache, into a fresh directory under
// tmp, and returns what to remove: that directory, or dir itself when the
// move fails.
func (f *Fetcher) moveToTrash(dir string) string {
	trash, err := os.MkdirTemp(f.tmpDir(), "old-")
	if err != nil {
		return dir
	}
	if err := os.Rename(dir, filepath.Join(trash, "checkout")); err != nil {
		_ = os.Remove(trash)
		return dir
	}
	return trash
}

// adoptCheckouts registers the checkouts an earlier Fetcher left in
// CacheDir, so that they are reused and collected, and removes anything
// else found there.
func (f *Fetcher) adoptCheckouts() error {
	keys, err := os.ReadDir(f.checkoutsDir())
	if err != nil {
		return err
	}
	for _, k := range keys {
		keyDir := filepath.Join(f.checkoutsDir(), k.Name())
		commits, err := os.ReadDir(keyDir)
		if err != nil || !k.IsDir() {
			_ = os.RemoveAll(keyDir)
			continue
		}
		byCommit := map[string]*checkout{}
		for _, c := range commits {
			dir := filepath.Join(keyDir, c.Name())
			info, err := c.Info()
			if err != nil || !c.IsDir() || !isFullHash(c.Name()) {
				_ = os.RemoveAll(dir)
				continue
			}
			done := make(chan struct{})
			close(done)
			byCommit[c.Name()] = &checkout{done: done, dir: dir, lastUsed: info.ModTime()}
		}
		f.checkouts[k.Name()] = byCommit
		f.collect(k.Name())
	}
	return nil
}

// urlKey names a URL's directory in the cache, without user information.
func urlKey(fetchURL string) string {
	sum := sha256.Sum256([]byte(displayURL(fetchURL)))
	return hex.EncodeToString(sum[:16])
}

// kindedError is a clone's failure, shared by every caller waiting for it:
// each wraps it in an *Error naming its own URL and reference. It redacts
// the secrets of the credentials the clone used.
type kindedError struct {
	kind    error
	err     error
	secrets []string
}

func (e *kindedError) Error() string { return scrub(e.err.Error(), e.secrets) }
func (e *kindedError) Unwrap() error { return e.err }

// kindOf returns the kind an error carries, or classifies it.
func kindOf(err error) error {
	var k *kindedError
	if errors.As(err, &k) && k.kind != nil {
		return k.kind
	}
	return classify(err)
}

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
	"sync"
	"sync/atomic"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Defaults of Options.
const (
	DefaultResolveTTL  = 10 * time.Second
	DefaultTimeout     = 60 * time.Second
	DefaultKeepCommits = 2
	DefaultMaxFiles    = 100_000
	DefaultMaxBytes    = 1 << 30
)

// Options configure NewFetcher.
type Options struct {
	// CacheDir holds the checkouts. It is required, and belongs to one
	// Fetcher at a time: the Fetcher removes what it does not know.
	CacheDir string
	// ResolveTTL is how long the refs a remote listed answer Resolve
	// without asking again, unless forced; DefaultResolveTTL when zero.
	// A negative value asks every time.
	ResolveTTL time.Duration
	// Rewrite, when set, maps every URL before any network call, such as
	// a public URL to a mirror. Messages name both URLs.
	Rewrite func(url string) string
	// Timeout bounds every network call; DefaultTimeout when zero.
	Timeout time.Duration
	// KeepCommits is how many checkouts of one URL stay on disk when not
	// in use, the most recently checked out first; DefaultKeepCommits when
	// zero. Checkouts in use always stay.
	KeepCommits int
	// MaxFiles and MaxBytes bound what one checkout writes to disk: its
	// files, folders and links, and the bytes of its files. They are
	// checked while writing, before each file, so a small pack that
	// unpacks into a huge tree (a "git bomb") fails with ErrTooLarge and
	// leaves nothing behind, instead of filling the disk every tenant
	// shares. DefaultMaxFiles and DefaultMaxBytes when zero.
	MaxFiles int
	MaxBytes int64
	// OnRequest, when set, is told of every request to a remote: the URL
	// as the caller gave it and "ls-remote" or "fetch" (for metrics).
	OnRequest func(url, requestType string)
}

// Fetcher is Tether's one Git client, shared by every controller. It asks
// remotes which commit a reference points at (Resolve) and writes commits'
// files to disk (Checkout), sharing requests between concurrent callers
// and caching results. It is safe for concurrent use.
type Fetcher struct {
	opts Options

	mu        sync.Mutex
	lists     map[string]*listState           // (URL, auth) -> listing
	swept     time.Time                       // when lists last lost its stale entries
	checkouts map[string]map[string]*checkout // URL key -> commit -> checkout
	refsSeen  map[string]string               // fetch URL -> digest of its last listing
	listeners []func(key string)

	stats struct {
		resolves, lists, clones, fetches, hits, bytes atomic.Int64
	}
}

// NewFetcher returns a Fetcher caching in opts.CacheDir. Checkouts left
// there by an earlier Fetcher are reused; unfinished ones are removed.
func NewFetcher(opts Options) (*Fetcher, error) {
	if opts.CacheDir == "" {
		return nil, errors.New("git fetcher: Options.CacheDir is required")
	}
	if opts.ResolveTTL == 0 {
		opts.ResolveTTL = DefaultResolveTTL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.KeepCommits <= 0 {
		opts.KeepCommits = DefaultKeepCommits
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	f := &Fetcher{
		opts:      opts,
		lists:     map[string]*listState{},
		checkouts: map[string]map[string]*checkout{},
		refsSeen:  map[string]string{},
	}
	if err := os.RemoveAll(f.tmpDir()); err != nil {
		return nil, fmt.Errorf("git fetcher: clean %s: %w", f.tmpDir(), err)
	}
	for _, dir := range []string{f.tmpDir(), f.checkoutsDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("git fetcher: %w", err)
		}
	}
	if err := f.adoptCheckouts(); err != nil {
		return nil, fmt.Errorf("git fetcher: %w", err)
	}
	return f, nil
}

func (f *Fetcher) tmpDir() string       { return filepath.Join(f.opts.CacheDir, "tmp") }
func (f *Fetcher) checkoutsDir() string { return filepath.Join(f.opts.CacheDir, "checkouts") }

// Stats counts what a Fetcher did since it was made.
type Stats struct {
	// Resolves counts Resolve calls.
	Resolves int64
	// Lists counts the ref listings sent to remotes (git ls-remote).
	Lists int64
	// Clones counts the checkouts written, each from one or more fetches.
	Clones int64
	// Fetches counts the fetches sent to remotes (git-upload-pack).
	Fetches int64
	// CheckoutHits counts Checkout calls answered without a clone of their
	// own: from the cache, or by waiting for another caller's clone.
	CheckoutHits int64
	// BytesFetched sums the pack files the fetches received.
	BytesFetched int64
}

// Stats returns the counters, for tests and benchmarks.
func (f *Fetcher) Stats() Stats {
	return Stats{
		Resolves:     f.stats.resolves.Load(),
		Lists:        f.stats.lists.Load(),
		Clones:       f.stats.clones.Load(),
		Fetches:      f.stats.fetches.Load(),
		CheckoutHits: f.stats.hits.Load(),
		BytesFetched: f.stats.bytes.Load(),
	}
}

// Resolve asks the remote at url which commit ref points at, listing its
// references like git ls-remote: nothing is downloaded. One listing of a
// URL with the same credentials answers every reference: concurrent
// callers share one request, and a listing younger than Options.ResolveTTL
// is reused. With force, the answer comes from a listing that started
// after the call, for webhooks and "reconcile now" requests.
//
// A SemVer ref resolves to the highest matching tag; a Commit is checked
// only for access to the repository (and for its Branch, when set): its
// existence shows at Checkout. Errors are *Error values.
func (f *Fetcher) Resolve(ctx context.Context, url string, ref Ref, auth *Auth, force bool) (Resolved, error) {
	f.stats.resolves.Add(1)
	r, err := f.newRemote("resolve", url, ref, auth)
	if err != nil {
		return Resolved{}, err
	}
	if err := ref.validate(); err != nil {
		return Resolved{}, r.fail("resolve", ErrInvalid, err)
	}
	refs, err := f.list(ctx, "resolve", r, force)
	if err != nil {
		return Resolved{}, err
	}
	res, err := resolveIn(refs, ref)
	switch {
	case errors.Is(err, ErrRefNotFound) && ref.kind() == kindCommit:
		return Resolved{}, r.fail("resolve", ErrRefNotFound, nil).withRef(fmt.Sprintf("branch '%s'", ref.Branch))
	case errors.Is(err, ErrRefNotFound) && len(refs) == 0:
		return Resolved{}, r.fail("resolve", ErrRefNotFound, errors.New("the repository is empty"))
	case errors.Is(err, ErrRefNotFound), errors.Is(err, ErrNoMatchingTag):
		return Resolved{}, r.fail("resolve", err, nil)
	case err != nil:
		return Resolved{}, r.fail("resolve", ErrInvalid, err)
	}
	return res, nil
}

// withRef replaces the reference a message names.
func (e *Error) withRef(ref string) *Error {
	e.Ref = ref
	return e
}

// listState is the listing of one (URL, credentials): the last good one
// and the request in flight.
type listState struct {
	last *listing
	cur  *listing
}

// listing is one ref listing of a remote, or the request for it.
type listing struct {
	started time.Time
	done    chan struct{}     // closed when refs and err are set
	refs    map[string]string // full name -> hash; "ref: <target>" for symbolic refs
	err     error
}

// list returns the references of r's remote. It reuses a listing younger
// than the TTL (unless force), joins a request in flight when that request
// is recent enough, and otherwise starts one. The request runs on its own
// context, bounded by Options.Timeout, so that one caller giving up does
// not fail the others; each caller stops waiting when its ctx ends.
func (f *Fetcher) list(ctx context.Context, op string, r *remote, force bool) (map[string]string, error) {
	asked := time.Now()
	key := r.fetchURL + "\x00" + r.authKey
	for {
		f.mu.Lock()
		st := f.lists[key]
		if st == nil {
			st = &listState{}
			f.lists[key] = st
		}
		if l := st.last; l != nil && f.fresh(l, asked, force) {
			f.mu.Unlock()
			return l.refs, nil
		}
		l := st.cur
		if l == nil {
			l = &listing{started: time.Now(), done: make(chan struct{})}
			st.cur = l
			go f.runList(r, st, l)
		}
		f.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, r.fail(op, nil, ctx.Err())
		}
		if force && l.started.Before(asked) {
			continue // that request may predate what the caller wants to see
		}
		if l.err != nil {
			return nil, r.fail(op, nil, l.err)
		}
		return l.refs, nil
	}
}

// fresh reports whether listing l may answer a call made at asked.
func (f *Fetcher) fresh(l *listing, asked time.Time, force bool) bool {
	if force {
		return !l.started.Before(asked)
	}
	return f.opts.ResolveTTL > 0 && asked.Sub(l.started) < f.opts.ResolveTTL
}

// runList performs listing l and publishes it.
func (f *Fetcher) runList(r *remote, st *listState, l *listing) {
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.Timeout)
	defer cancel()
	l.refs, l.err = f.listRemote(ctx, r)
	if l.err != nil && ctx.Err() != nil {
		l.err = timeoutError{after: f.opts.Timeout, err: l.err}
	}
	f.mu.Lock()
	st.cur = nil
	var changed []func(string)
	if l.err == nil {
		st.last = l
		digest := refsDigest(l.refs)
		if old, ok := f.refsSeen[r.fetchURL]; ok && old != digest {
			changed = f.listeners
		}
		f.refsSeen[r.fetchURL] = digest
	}
	f.sweepLists()
	f.mu.Unlock()
	close(l.done)
	for _, fn := range changed {
		fn(r.fetchURL)
	}
}

// OnChange registers fn to be told when a remote's references moved: a
// listing differs from the one before it (a push, a new tag), whoever
// asked for it. Every consumer of the repository can then look at once,
// instead of at its own next poll. fn gets the repository's Key and must
// not block.
func (f *Fetcher) OnChange(fn func(key string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listeners = append(f.listeners, fn)
}

// Key is the key OnChange reports for url: the URL fetched, after
// Options.Rewrite.
func (f *Fetcher) Key(url string) string {
	if f.opts.Rewrite != nil {
		return f.opts.Rewrite(url)
	}
	return url
}

// refsDigest is a digest of a listing, independent of map order.
func refsDigest(refs map[string]string) string {
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s %s\n", n, refs[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sweepInterval is how often sweepLists looks at every listing.
const sweepInterval = time.Minute

// sweepLists forgets the listings too old to answer anyone (older than the
// TTL, with no request in flight), so that credentials rotated away or
// objects deleted do not keep their listings forever. The caller holds
// f.mu; the work runs at most once per sweepInterval.
func (f *Fetcher) sweepLists() {
	now := time.Now()
	if now.Sub(f.swept) < sweepInterval {
		return
	}
	f.swept = now
	for key, st := range f.lists {
		if st.cur == nil && (st.last == nil || now.Sub(st.last.started) >= f.opts.ResolveTTL) {
			delete(f.lists, key)
		}
	}
}

// listRemote lists the remote's references, with the peeled commits of
// annotated tags ("refs/tags/v1^{}").
func (f *Fetcher) listRemote(ctx context.Context, r *remote) (map[string]string, error) {
	f.stats.lists.Add(1)
	if f.opts.OnRequest != nil {
		f.opts.OnRequest(r.url, "ls-remote")
	}
	rem := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.fetchURL}})
	list, err := rem.ListContext(ctx, &gogit.ListOptions{
		Auth:          r.auth,
		CABundle:      r.caBundle,
		ClientCert:    r.clientCert,
		ClientKey:     r.clientKey,
		PeelingOption: gogit.AppendPeeled,
	})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	refs := make(map[string]string, len(list))
	for _, ref := range list {
		if ref.Type() == plumbing.SymbolicReference {
			refs[ref.Name().String()] = "ref: " + ref.Target().String()
			continue
		}
		refs[ref.Name().String()] = ref.Hash().String()
	}
	return refs, nil
}

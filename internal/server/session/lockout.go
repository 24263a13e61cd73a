package session

import (
	"sync"
	"time"
)

// Lockout defaults, as Argo CD's (ARGOCD_SESSION_FAILURE_MAX_FAIL_COUNT,
// ARGOCD_SESSION_FAILURE_WINDOW_SECONDS, ARGOCD_SESSION_MAX_CACHE_SIZE).
const (
	DefaultMaxFailures   = 5
	DefaultFailureWindow = 300 * time.Second
	DefaultMaxTracked    = 1000
)

// lockout counts failed logins per user name, known or not, so that a
// guesser learns nothing from being locked out. After maxFailures failures
// in a row, each less than window after the one before, the name is
// refused without a password check until window has passed since the last
// failure.
type lockout struct {
	maxFailures int
	window      time.Duration
	maxTracked  int
	now         func() time.Time

	mu       sync.Mutex
	failures map[string]failures
}

type failures struct {
	count int
	last  time.Time
}

func newLockout(maxFailures int, window time.Duration, maxTracked int, now func() time.Time) *lockout {
	return &lockout{maxFailures: maxFailures, window: window, maxTracked: maxTracked, now: now, failures: map[string]failures{}}
}

// locked reports whether user may not try now.
func (l *lockout) locked(user string) bool {
	if l.maxFailures <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.failures[user]
	if !ok {
		return false
	}
	if l.now().Sub(f.last) >= l.window {
		delete(l.failures, user)
		return false
	}
	return f.count >= l.maxFailures
}

// failed records a wrong password (or an unknown name) for user.
func (l *lockout) failed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.failures[user]
	if now.Sub(f.last) >= l.window {
		f.count = 0
	}
	f.count++
	f.last = now
	if _, tracked := l.failures[user]; !tracked && len(l.failures) >= l.maxTracked {
		l.evictOne(now)
	}
	l.failures[user] = f
}

// succeeded forgets user's failures.
func (l *lockout) succeeded(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, user)
}

// evictOne makes room for a new name: it drops an entry whose window has
// passed, else the unlocked entry whose last failure is oldest. A locked
// entry is never dropped, so a flood of made-up names cannot unlock a real
// one; the table outgrows maxTracked only by locked entries, and each of
// those cost the guesser maxFailures password checks. Called with mu held.
func (l *lockout) evictOne(now time.Time) {
	var oldest string
	var at time.Time
	for name, f := range l.failures {
		if now.Sub(f.last) >= l.window {
			delete(l.failures, name)
			return
		}
		if f.count < l.maxFailures && (oldest == "" || f.last.Before(at)) {
			oldest, at = name, f.last
		}
	}
	if oldest != "" {
		delete(l.failures, oldest)
	}
}

// Package ratelimit gives a process one request budget per API server:
// every client Tether makes for a server - its own, impersonated ones,
// Helm's, those made from cluster Secrets and kubeconfigs - draws from the
// same token bucket, so that a thousand tenants' clients cannot send a
// thousand times the configured rate. The bucket halves its rate when the
// server answers 429 Too Many Requests (API Priority and Fairness says it
// is overloaded) and climbs back while it does not.
//
//	b := ratelimit.NewBudget(100, 200)
//	b.Apply(cfg) // before any client is made from cfg or its copies
package ratelimit

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

const (
	// minShare is the smallest part of the configured rate a limiter
	// slows down to.
	minShare = 16
	// cutEvery is the least time between two cuts: the 429s of requests
	// already in flight count as one.
	cutEvery = time.Second
	// quietFor is how long without a 429 before the rate climbs.
	quietFor = 10 * time.Second
	// climbBy is the factor the rate climbs by, once a second.
	climbBy = 1.25
)

// Budget hands out one Limiter per API server.
type Budget struct {
	qps   float64
	burst int
	now   func() time.Time

	mu       sync.Mutex
	limiters map[string]*Limiter
}

// NewBudget returns a budget of qps requests a second, in bursts of up to
// burst, per API server.
func NewBudget(qps float32, burst int) *Budget {
	return &Budget{qps: float64(qps), burst: max(burst, 1), now: time.Now, limiters: map[string]*Limiter{}}
}

// For returns the limiter of the server at host.
func (b *Budget) For(host string) *Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.limiters[host]
	if !ok {
		l = &Limiter{bucket: rate.NewLimiter(rate.Limit(b.qps), b.burst), max: b.qps, now: b.now}
		b.limiters[host] = l
	}
	return l
}

// Apply makes every client built from cfg (and from its copies) draw from
// the limiter of cfg's server and report that server's 429s to it. A
// budget of zero or fewer queries a second leaves cfg alone.
func (b *Budget) Apply(cfg *rest.Config) {
	if b == nil || b.qps <= 0 {
		return
	}
	l := b.For(cfg.Host)
	cfg.QPS, cfg.Burst = float32(b.qps), b.burst
	cfg.RateLimiter = l
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &observer{next: rt, limiter: l} })
}

// Limiter is a token bucket whose rate adapts to the server's 429s. It
// implements client-go's flowcontrol.RateLimiter.
type Limiter struct {
	bucket *rate.Limiter
	max    float64
	now    func() time.Time

	mu              sync.Mutex
	lastCut, lastUp time.Time
}

var _ flowcontrol.RateLimiter = (*Limiter)(nil)

// TryAccept takes a token if one is there now.
func (l *Limiter) TryAccept() bool {
	l.climb()
	return l.bucket.Allow()
}

// Accept waits for a token.
func (l *Limiter) Accept() { _ = l.Wait(context.Background()) }

// Wait waits for a token or for ctx to end.
func (l *Limiter) Wait(ctx context.Context) error {
	l.climb()
	return l.bucket.Wait(ctx)
}

// Stop does nothing: the limiter is shared for the life of the process.
func (l *Limiter) Stop() {}

// QPS is the current rate.
func (l *Limiter) QPS() float32 { return float32(l.bucket.Limit()) }

// Throttled halves the rate, at most once per cutEvery, down to a
// sixteenth of the configured rate.
func (l *Limiter) Throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastCut) < cutEvery {
		return
	}
	l.lastCut, l.lastUp = now, now
	l.bucket.SetLimitAt(now, rate.Limit(max(float64(l.bucket.Limit())/2, l.max/minShare)))
}

// climb raises a cut rate by climbBy a second once quietFor has passed
// without a 429, up to the configured rate.
func (l *Limiter) climb() {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := float64(l.bucket.Limit())
	now := l.now()
	if cur >= l.max || now.Sub(l.lastCut) < quietFor || now.Sub(l.lastUp) < time.Second {
		return
	}
	l.lastUp = now
	l.bucket.SetLimitAt(now, rate.Limit(min(cur*climbBy, l.max)))
}

// observer reports the server's 429s to the limiter.
type observer struct {
	next    http.RoundTripper
	limiter *Limiter
}

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		o.limiter.Throttled()
	}
	return resp, err
}

// Package notify delivers notifications without ever holding up a
// reconcile: each destination (a Flux Provider, an Argo CD service and
// recipient) has a queue of its own, drained by its own goroutine, with a
// rate limit, retries with backoff, a deadline per attempt and suppression
// of repeats. Both dialects' notification code enqueues here:
//
//	d := notify.NewDispatcher(notify.Options{OnResult: record})
//	mgr.Add(d)
//	d.Enqueue(notify.Notification{Destination: "Provider/flux-system/slack", Key: eventHash,
//		Send: func(ctx context.Context) error { return notify.PostJSON(ctx, client, url, payload, nil) }})
package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Options configure a Dispatcher; zero values take the defaults.
type Options struct {
	// Retries are the attempts after the first one (0: the default, 5;
	// negative: none); a Permanent error is not retried.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one up to MaxBackoff (defaults 2 s and 1 min).
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt (default 15 s): a hung sink holds up only
	// its own queue, and only that long.
	Timeout time.Duration
	// Rate and Burst limit the attempts per destination (defaults 2 per
	// second, burst 10).
	Rate  rate.Limit
	Burst int
	// QueueSize bounds the notifications waiting per destination (default
	// 256); past it the new one is dropped and reported.
	QueueSize int
	// DedupeWindow drops a notification whose Key was enqueued within it
	// (default 0: only keys still queued or in delivery are dropped).
	DedupeWindow time.Duration
	// OnResult, when set, is called once per notification with its
	// outcome: nil, the last error, or ErrDropped.
	OnResult func(n Notification, err error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Notification is one message for one destination.
type Notification struct {
	// Destination names the queue: notifications to one destination are
	// sent in order, one at a time.
	Destination string
	// Key identifies the message for suppressing repeats; "" is never
	// suppressed.
	Key string
	// Send delivers it; ctx carries the attempt's deadline.
	Send func(ctx context.Context) error
	// Labels describe it to OnResult (metrics labels, event details);
	// never a secret.
	Labels map[string]string
	// Done, when set, is called once with the outcome, as OnResult is:
	// nil, the last error, or ErrDropped. It must not block for long.
	Done func(err error)
}

// ErrDropped is the outcome of a notification dropped because its
// destination's queue was full.
var ErrDropped = errors.New("dropped: the destination's queue is full")

// Dispatcher runs the queues; create it with NewDispatcher and Start it.
type Dispatcher struct {
	opts Options

	mu      sync.Mutex
	ctx     context.Context // set by Start
	queues  map[string]*queue
	recent  map[string]time.Time // Key -> when enqueued
	pending []Notification       // enqueued before Start
}

// queue is one destination's backlog and rate limiter.
type queue struct {
	items   []Notification
	limiter *rate.Limiter
	running bool
}

// NewDispatcher returns a Dispatcher with opts' defaults filled in.
func NewDispatcher(opts Options) *Dispatcher {
	switch {
	case opts.Retries == 0:
		opts.Retries = 5
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Rate <= 0 {
		opts.Rate = 2
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Dispatcher{opts: opts, queues: map[string]*queue{}, recent: map[string]time.Time{}}
}

// Start delivers until ctx ends; notifications enqueued before it waited.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	pending := d.pending
	d.pending = nil
	for _, n := range pending {
		d.push(n)
	}
	d.mu.Unlock()
	<-ctx.Done()
	return nil
}

// NeedLeaderElection is true: only the replica that reconciles notifies.
func (d *Dispatcher) NeedLeaderElection() bool { return true }

// Enqueue queues n and returns at once; it reports false when n was
// suppressed as a repeat or dropped.
func (d *Dispatcher) Enqueue(n Notification) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.opts.Now()
	if n.Key != "" {
		for k, at := range d.recent {
			if now.Sub(at) > d.opts.DedupeWindow && !d.queuedLocked(k) {
				delete(d.recent, k)
			}
		}
		if _, seen := d.recent[n.Key]; seen {
			return false
		}
		d.recent[n.Key] = now
	}
	if d.ctx == nil {
		d.pending = append(d.pending, n)
		return true
	}
	return d.push(n)
}

// queuedLocked reports whether a notification with key is still queued.
func (d *Dispatcher) queuedLocked(key string) bool {
	for _, q := range d.queues {
		for _, n := range q.items {
			if n.Key == key {
				return true
			}
		}
	}
	return false
}

// push adds n to its queue and starts the queue's goroutine; d.mu held.
func (d *Dispatcher) push(n Notification) bool {
	q := d.queues[n.Destination]
	if q == nil {
		q = &queue{limiter: rate.NewLimiter(d.opts.Rate, d.opts.Burst)}
		d.queues[n.Destination] = q
	}
	if len(q.items) >= d.opts.QueueSize {
		go d.report(n, ErrDropped)
		return false
	}
	q.items = append(q.items, n)
	if !q.running {
		q.running = true
		go d.drain(n.Destination, q)
	}
	return true
}

// drain sends q's notifications in order until it is empty.
func (d *Dispatcher) drain(dest string, q *queue) {
	for {
		d.mu.Lock()
		if len(q.items) == 0 || d.ctx.Err() != nil {
			q.running = false
			d.mu.Unlock()
			return
		}
		n := q.items[0]
		ctx := d.ctx
		d.mu.Unlock()

		err := d.deliver(ctx, q, n)

		d.mu.Lock()
		q.items = q.items[1:]
		if n.Key != "" && d.opts.DedupeWindow == 0 {
			delete(d.recent, n.Key)
		}
		d.mu.Unlock()
		d.report(n, err)
	}
}

// report hands a notification's outcome to OnResult and to its Done.
func (d *Dispatcher) report(n Notification, err error) {
	if d.opts.OnResult != nil {
		d.opts.OnResult(n, err)
	}
	if n.Done != nil {
		n.Done(err)
	}
}

// deliver makes the attempts for one notification.
func (d *Dispatcher) deliver(ctx context.Context, q *queue, n Notification) error {
	wait := d.opts.Backoff
	var err error
	for attempt := 0; attempt <= d.opts.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(wait):
			}
			wait = min(2*wait, d.opts.MaxBackoff)
		}
		if werr := q.limiter.Wait(ctx); werr != nil {
			return errors.Join(err, werr)
		}
		actx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		err = n.Send(actx)
		cancel()
		if err == nil || IsPermanent(err) {
			return err
		}
	}
	return err
}

// permanent marks an error that a retry cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (a 4xx answer, a
// template that does not render): the Dispatcher gives up at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

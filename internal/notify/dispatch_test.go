package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// outcomes collects OnResult calls.
type outcomes struct {
	mu   sync.Mutex
	errs map[string]error
	done chan string
}

func newOutcomes() *outcomes {
	return &outcomes{errs: map[string]error{}, done: make(chan string, 100)}
}

func (o *outcomes) record(n Notification, err error) {
	o.mu.Lock()
	o.errs[n.Labels["name"]] = err
	o.mu.Unlock()
	o.done <- n.Labels["name"]
}

func (o *outcomes) wait(t *testing.T, name string) error {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-o.done:
			if got == name {
				o.mu.Lock()
				defer o.mu.Unlock()
				return o.errs[name]
			}
		case <-timeout:
			t.Fatalf("no outcome for %s", name)
		}
	}
}

func start(t *testing.T, opts Options) *Dispatcher {
	t.Helper()
	d := NewDispatcher(opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = d.Start(ctx) }()
	return d
}

func post(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error { return PostJSON(ctx, client, url, map[string]string{"a": "b"}, nil) }
}

// TestRetriesWithBackoff: a sink that answers 500 twice gets the message
// on the third attempt, after the backoff; a 400 is not retried.
func TestRetriesWithBackoff(t *testing.T) {
	var calls atomic.Int32
	var times []time.Time
	var mu sync.Mutex
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/bad") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}))
	defer sink.Close()
	o := newOutcomes()
	d := start(t, Options{Backoff: 100 * time.Millisecond, OnResult: o.record})
	d.Enqueue(Notification{Destination: "sink", Send: post(sink.Client(), sink.URL+"/ok"), Labels: map[string]string{"name": "ok"}})
	if err := o.wait(t, "ok"); err != nil {
		t.Fatalf("delivery failed: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d attempts, want 3", calls.Load())
	}
	mu.Lock()
	if gap := times[2].Sub(times[1]); gap < 190*time.Millisecond {
		t.Errorf("second retry came %s after the first, want the doubled backoff (200ms)", gap)
	}
	mu.Unlock()
	d.Enqueue(Notification{Destination: "sink", Send: post(sink.Client(), sink.URL+"/bad"), Labels: map[string]string{"name": "bad"}})
	if err := o.wait(t, "bad"); err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "400") {
		t.Errorf("a 400 answer: %v, want a permanent error naming it", err)
	}
}

// TestHungSinkHoldsUpOnlyItsQueue: while one sink hangs, another
// destination is served at once, and the hung attempt ends at the
// deadline.
func TestHungSinkHoldsUpOnlyItsQueue(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	fine := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer fine.Close()
	o := newOutcomes()
	d := start(t, Options{Timeout: 300 * time.Millisecond, Retries: -1, OnResult: o.record})
	d.Enqueue(Notification{Destination: "hung", Send: post(hung.Client(), hung.URL), Labels: map[string]string{"name": "hung"}})
	begin := time.Now()
	d.Enqueue(Notification{Destination: "fine", Send: post(fine.Client(), fine.URL), Labels: map[string]string{"name": "fine"}})
	if err := o.wait(t, "fine"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 250*time.Millisecond {
		t.Errorf("the healthy destination waited %s behind the hung one", took)
	}
	if err := o.wait(t, "hung"); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the hung attempt ended with %v, want its deadline", err)
	}
}

// TestRepeatsAreSuppressed: a key enqueued again within the window is
// dropped; another key is not.
func TestRepeatsAreSuppressed(t *testing.T) {
	var calls atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer sink.Close()
	o := newOutcomes()
	d := start(t, Options{DedupeWindow: time.Minute, OnResult: o.record})
	if !d.Enqueue(Notification{Destination: "s", Key: "k1", Send: post(sink.Client(), sink.URL), Labels: map[string]string{"name": "1"}}) {
		t.Fatal("the first was refused")
	}
	if d.Enqueue(Notification{Destination: "s", Key: "k1", Send: post(sink.Client(), sink.URL), Labels: map[string]string{"name": "1b"}}) {
		t.Error("a repeat within the window was queued")
	}
	d.Enqueue(Notification{Destination: "s", Key: "k2", Send: post(sink.Client(), sink.URL), Labels: map[string]string{"name": "2"}})
	_ = o.wait(t, "1")
	_ = o.wait(t, "2")
	if calls.Load() != 2 {
		t.Errorf("%d deliveries, want 2", calls.Load())
	}
}

// TestErrorsNeverCarryTheURL: a webhook URL's path holds its token; a
// failure names the host only.
func TestErrorsNeverCarryTheURL(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer sink.Close()
	err := PostJSON(context.Background(), sink.Client(), sink.URL+"/services/T000/B000/secret-token", map[string]string{}, nil)
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error %v: want a failure without the URL's path", err)
	}
	err = PostJSON(context.Background(), sink.Client(), "http://127.0.0.1:1/hooks/secret-token", map[string]string{}, nil)
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("transport error %v: want it without the URL's path", err)
	}
}

package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestOneLimiterPerServer(t *testing.T) {
	b := NewBudget(50, 100)
	a1, a2 := &rest.Config{Host: "https://a:6443"}, &rest.Config{Host: "https://a:6443"}
	other := &rest.Config{Host: "https://b:6443"}
	b.Apply(a1)
	b.Apply(a2)
	b.Apply(other)
	if a1.RateLimiter != a2.RateLimiter {
		t.Error("two clients of one server draw from different budgets")
	}
	if a1.RateLimiter == other.RateLimiter {
		t.Error("two servers share one budget")
	}
	impersonated := rest.CopyConfig(a1)
	impersonated.Impersonate.UserName = "system:serviceaccount:team:deployer"
	if impersonated.RateLimiter != a1.RateLimiter {
		t.Error("an impersonated copy has a budget of its own")
	}
	var unset *Budget
	none := &rest.Config{Host: "https://a:6443"}
	unset.Apply(none)
	NewBudget(0, 0).Apply(none)
	if none.RateLimiter != nil {
		t.Error("no budget still set a limiter")
	}
}

func TestLimiterAdaptsTo429(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBudget(100, 10)
	b.now = func() time.Time { return now }
	l := b.For("https://a:6443")
	l.Throttled()
	if got := l.QPS(); got != 50 {
		t.Fatalf("after a 429: %v QPS, want 50", got)
	}
	l.Throttled() // within a second: the same burst of 429s
	if got := l.QPS(); got != 50 {
		t.Fatalf("after a second 429 in the same second: %v QPS, want 50", got)
	}
	for range 10 {
		now = now.Add(cutEvery)
		l.Throttled()
	}
	if got := l.QPS(); got != 100.0/minShare {
		t.Fatalf("after many 429s: %v QPS, want the floor %v", got, 100.0/minShare)
	}
	now = now.Add(quietFor / 2)
	l.TryAccept()
	if got := l.QPS(); got != 100.0/minShare {
		t.Fatalf("climbed before %v without a 429: %v QPS", quietFor, got)
	}
	for range 60 {
		now = now.Add(time.Second)
		l.TryAccept()
	}
	if got := l.QPS(); got != 100 {
		t.Fatalf("a minute without 429s: %v QPS, want back to 100", got)
	}
}

// A client made from an applied config reports the server's 429s.
func TestClientReports429(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`))
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	b := NewBudget(80, 10)
	b.Apply(cfg)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/namespaces", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := b.For(srv.URL).QPS(); got != 40 {
		t.Errorf("after the server's 429: %v QPS, want 40", got)
	}
}

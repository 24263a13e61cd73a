package harness

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestResourceOf(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"/api/v1/namespaces/a/configmaps/b?fieldManager=x&dryRun=All", "configmaps"},
		{"/api/v1/namespaces/a/configmaps?limit=500", "configmaps"},
		{"/api/v1/namespaces/a", "namespaces"},
		{"/api/v1/namespaces", "namespaces"},
		{"/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/app/status", "applications/status"},
		{"/apis/events.k8s.io/v1/namespaces/argocd/events", "events"},
		{"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x", "customresourcedefinitions"},
		{"/api", "/api"},
		{"/healthz", "/healthz"},
	}
	for _, tt := range tests {
		if got := resourceOf(tt.uri); got != tt.want {
			t.Errorf("resourceOf(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		env  string
		want []int
	}{
		{"", []int{100, 1000}},
		{"50", []int{50}},
		{"10, 20,x,0", []int{10, 20}},
	}
	for _, tt := range tests {
		t.Setenv("TETHER_BENCH_APPS", tt.env)
		if got := Sizes(100, 1000); !slices.Equal(got, tt.want) {
			t.Errorf("TETHER_BENCH_APPS=%q: Sizes = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestRequests(t *testing.T) {
	r := Requests{ByVerb: map[string]int{"patch(dry-run)": 3, "get": 2, "watch": 1}}
	if got, want := r.String(), "get 2, watch 1, patch(dry-run) 3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestPeakRSS(t *testing.T) {
	if got := PeakRSS(os.Getpid()); got <= 0 {
		t.Errorf("PeakRSS(self) = %d, want > 0", got)
	}
	if got := PeakRSS(-1); got != 0 {
		t.Errorf("PeakRSS(-1) = %d, want 0", got)
	}
}

func TestExited(t *testing.T) {
	if exited(os.Getpid()) {
		t.Error("exited(self) = true")
	}
	if !exited(-1) {
		t.Error("exited(-1) = false")
	}
}

func TestCPUTicks(t *testing.T) {
	pid := os.Getpid()
	before := cpuTicks(pid)
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
	}
	if after := cpuTicks(pid); after <= before {
		t.Errorf("cpu ticks %d then %d after 200ms of work", before, after)
	}
	if cpuTicks(-1) != 0 {
		t.Error("ticks of no process")
	}
}

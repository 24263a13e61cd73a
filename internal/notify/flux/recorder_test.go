package flux

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
)

// notes records the notes of the events it is given.
type notes []string

func (n *notes) Eventf(_, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	*n = append(*n, eventtype+" "+reason+" "+fmt.Sprintf(note, args...))
}

type sinkFunc func(Event)

func (f sinkFunc) Route(e Event) { f(e) }

func TestRecorderRecordsAndRoutes(t *testing.T) {
	var recorded notes
	var routed []Event
	rec := NewRecorder(&recorded, "tether-kustomize-controller", testScheme(t), sinkFunc(func(e Event) { routed = append(routed, e) }))
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps"}}
	rec.Eventf(ks, nil, corev1.EventTypeWarning, "BuildFailed", "Reconcile", "%s", "bad 100%")
	rec.Eventf(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "apps"}}, nil, corev1.EventTypeNormal, "X", "Y", "not Flux")
	if len(recorded) != 2 || recorded[0] != "Warning BuildFailed bad 100%" {
		t.Errorf("Kubernetes events %q, want both recorded as before", recorded)
	}
	if len(routed) != 1 || routed[0].Message != "bad 100%" || routed[0].Severity != SeverityError || routed[0].ReportingController != "kustomize-controller" {
		t.Fatalf("routed %+v, want the Kustomization's event only", routed)
	}
}

func testRouter(queue int, rate time.Duration) *Router {
	return newRouter(nil, nil, &notes{}, Options{QueueSize: queue, RateLimit: rate})
}

// TestRouteNeverBlocks: with nobody draining the queue, Route returns at
// once and drops what does not fit.
func TestRouteNeverBlocks(t *testing.T) {
	r := testRouter(2, -1)
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			ev := *testEvent()
			ev.Message = fmt.Sprint(i)
			r.Route(ev)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Route blocked on a full queue")
	}
	if len(r.queue) != 2 {
		t.Errorf("%d queued, want the queue's 2", len(r.queue))
	}
}

// TestRouteRateLimit: an event equal to one routed within the interval
// is dropped; after it, or when it differs, it is routed.
func TestRouteRateLimit(t *testing.T) {
	r := testRouter(10, time.Minute)
	now := time.Now()
	r.now = func() time.Time { return now }
	r.Route(*testEvent())
	r.Route(*testEvent())
	other := *testEvent()
	other.Message = "another failure"
	r.Route(other)
	if len(r.queue) != 2 {
		t.Fatalf("%d queued, want the first and the different one", len(r.queue))
	}
	now = now.Add(time.Minute)
	r.Route(*testEvent())
	if len(r.queue) != 3 {
		t.Errorf("%d queued, want the repeat after the interval too", len(r.queue))
	}
}

package application

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// An app that finds every processor busy is queued again when one frees,
// oldest first, once however often it asked.
func TestOperationsWakeWaitingAppsInOrder(t *testing.T) {
	o := newOperations(1)
	held := o.reserve(types.NamespacedName{Name: "holder"})
	if held == nil || o.reserve(types.NamespacedName{Name: "holder"}) != nil {
		t.Fatal("one processor: the first reserve gets it, the second does not")
	}
	a := types.NamespacedName{Namespace: "argocd", Name: "a"}
	b := types.NamespacedName{Namespace: "argocd", Name: "b"}
	o.wait(a)
	o.wait(b)
	o.wait(a)
	if len(o.done) != 0 {
		t.Fatalf("%d apps queued while the processor is busy", len(o.done))
	}
	held.free()
	held.free() // once
	if len(o.done) != 1 {
		t.Fatalf("a freed processor queued %d apps, want 1", len(o.done))
	}
	if got := (<-o.done).Object.GetName(); got != "a" {
		t.Errorf("woke %s first, want a", got)
	}
	next := o.reserve(types.NamespacedName{Name: "holder"})
	if next == nil {
		t.Fatal("the freed processor is not free")
	}
	next.free()
	if got := (<-o.done).Object.GetName(); got != "b" {
		t.Errorf("woke %s second, want b", got)
	}
	// Waiting when a processor is already free wakes at once.
	o.wait(a)
	if len(o.done) != 1 {
		t.Errorf("an app waiting while a processor is free was not queued")
	}
}

// A wake that finds the queue of woken apps full is not lost: the app
// stays first in line and the next wake delivers it.
func TestOperationsKeepAWakeThatFindsTheQueueFull(t *testing.T) {
	o := newOperations(1)
	o.done = make(chan event.TypedGenericEvent[client.Object], 1)
	a := types.NamespacedName{Namespace: "argocd", Name: "a"}
	b := types.NamespacedName{Namespace: "argocd", Name: "b"}
	held := o.reserve(types.NamespacedName{Name: "holder"})
	o.wait(a)
	o.wait(b)
	o.wakeNext()
	o.wakeNext() // the queue holds one: b stays waiting
	if got := (<-o.done).Object.GetName(); got != "a" {
		t.Fatalf("first woken %s, want a", got)
	}
	o.wakeNext()
	select {
	case e := <-o.done:
		if e.Object.GetName() != "b" {
			t.Errorf("second woken %s, want b", e.Object.GetName())
		}
	default:
		t.Error("b's wake was lost when the queue was full")
	}
	held.free()
}

// A woken app that does not take the free processor passes it on: the
// reconcile's offer wakes the next in line, and an offer while every
// processor is busy wakes nobody.
func TestOperationsOfferAnUntakenProcessor(t *testing.T) {
	o := newOperations(1)
	a := types.NamespacedName{Namespace: "argocd", Name: "a"}
	b := types.NamespacedName{Namespace: "argocd", Name: "b"}
	held := o.reserve(types.NamespacedName{Name: "holder"})
	o.wait(a)
	o.wait(b)
	held.free()
	if got := (<-o.done).Object.GetName(); got != "a" {
		t.Fatalf("woke %s, want a", got)
	}
	// a's reconcile finds nothing to sync and ends without reserving.
	o.offer()
	select {
	case e := <-o.done:
		if e.Object.GetName() != "b" {
			t.Errorf("woke %s, want b", e.Object.GetName())
		}
	default:
		t.Fatal("the free processor was not offered to b")
	}
	busy := o.reserve(types.NamespacedName{Name: "holder"})
	o.wait(a)
	o.offer()
	if len(o.done) != 0 {
		t.Errorf("an offer while every processor is busy woke %d apps", len(o.done))
	}
	busy.free()
}

// An app that got a processor on its own (its safety retry, while the
// queue of woken apps was full) no longer waits: a freed processor wakes
// the next app that does.
func TestOperationsSkipAppsThatGotAProcessor(t *testing.T) {
	o := newOperations(1)
	o.done = make(chan event.TypedGenericEvent[client.Object], 1)
	a := types.NamespacedName{Namespace: "argocd", Name: "a"}
	b := types.NamespacedName{Namespace: "argocd", Name: "b"}
	held := o.reserve(types.NamespacedName{Name: "x"})
	o.wait(a)
	o.wait(b)
	o.done <- event.TypedGenericEvent[client.Object]{Object: appRef(types.NamespacedName{Name: "other"})}
	held.free() // the queue is full: a stays first in line
	mine := o.reserve(a)
	if mine == nil {
		t.Fatal("a found no processor")
	}
	<-o.done
	mine.free()
	select {
	case e := <-o.done:
		if e.Object.GetName() != "b" {
			t.Errorf("woke %s, want b (a has had its processor)", e.Object.GetName())
		}
	default:
		t.Error("nobody woken")
	}
}

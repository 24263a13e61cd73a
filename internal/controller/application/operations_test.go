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
	held := o.reserve()
	if held == nil || o.reserve() != nil {
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
	next := o.reserve()
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
	held := o.reserve()
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

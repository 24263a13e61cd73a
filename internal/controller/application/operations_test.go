package application

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/types"
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

// blockingRunnable runs until its context ends and then fails, as a cache
// whose watches were cut would.
type blockingRunnable struct{ started, ended chan struct{} }

func (b blockingRunnable) Start(ctx context.Context) error {
	close(b.started)
	<-ctx.Done()
	close(b.ended)
	return errors.New("watch ended")
}

// TestStoppableEndsWithoutFailingTheManager: a stoppable runnable ends
// when its done context does, and that end is not an error (which would
// stop the whole manager); an end by the manager's own context is
// reported as the runnable reports it.
func TestStoppableEndsWithoutFailingTheManager(t *testing.T) {
	done, stop := context.WithCancel(context.Background())
	b := blockingRunnable{started: make(chan struct{}), ended: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- stoppable{runnable: b, done: done}.Start(context.Background()) }()
	<-b.started
	stop()
	<-b.ended
	if err := <-errc; err != nil {
		t.Errorf("stopped runnable returned %v, want nil", err)
	}

	mgrCtx, mgrStop := context.WithCancel(context.Background())
	b = blockingRunnable{started: make(chan struct{}), ended: make(chan struct{})}
	go func() { errc <- stoppable{runnable: b, done: context.Background()}.Start(mgrCtx) }()
	<-b.started
	mgrStop()
	if err := <-errc; err == nil {
		t.Error("a runnable ended by the manager lost its error")
	}
}

package drift

import (
	"context"
	"errors"
	"testing"
)

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

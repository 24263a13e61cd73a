package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultReaders is how many request bodies are read and parsed at once
// by one handler; with the size cap it bounds the memory a flood can take
// (CVE-2024-40634).
const DefaultReaders = 4

// readerWait is how long a request waits for a free reader before it is
// answered 503.
const readerWait = 5 * time.Second

// errTooLarge marks a body over the cap.
var errTooLarge = errors.New("payload too large")

// readers bounds the bodies being held in memory.
type readers struct{ slots chan struct{} }

func newReaders(n int) *readers {
	if n <= 0 {
		n = DefaultReaders
	}
	return &readers{slots: make(chan struct{}, n)}
}

// acquire waits for a slot for up to readerWait; ok is false when none
// freed in time or the request ended.
func (l *readers) acquire(ctx context.Context) (release func(), ok bool) {
	t := time.NewTimer(readerWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

// readBody reads r's body, refusing one over limit bytes before reading
// it when Content-Length says so, else as soon as the limit is passed.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, limit)
		}
		return nil, fmt.Errorf("read the request body: %w", err)
	}
	return body, nil
}

// bodyError answers a readBody error.
func bodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		http.Error(w, "Webhook processing failed: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "Webhook processing failed: the request body could not be read", http.StatusBadRequest)
}

// busy answers a request that found no free reader.
func busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "Too many webhook requests at once; retry later", http.StatusServiceUnavailable)
}

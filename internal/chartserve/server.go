package chartserve

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// server is the HTTP(S) server under Repo and Registry: it listens,
// counts requests by path and checks basic-auth credentials.
type server struct {
	url        string // "http(s)://HOST:PORT"
	host       string // "HOST:PORT"
	httpServer *http.Server
	done       chan struct{}
	stopOnce   sync.Once

	mu       sync.Mutex
	requests map[string]int
	conns    map[net.Conn]http.ConnState
}

// serverOptions configure startServer.
type serverOptions struct {
	addr               string
	username, password string
	tls                *tls.Config // nil: plain HTTP
	logf               func(format string, args ...any)
}

// startServer listens on opts.addr (empty: a free port on 127.0.0.1) and
// serves handler in the background until stop.
func startServer(handler http.Handler, opts serverOptions) (*server, error) {
	addr := opts.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &server{host: ln.Addr().String(), done: make(chan struct{}), requests: map[string]int{}, conns: map[net.Conn]http.ConnState{}}
	scheme := "http"
	if opts.tls != nil {
		scheme = "https"
		ln = tls.NewListener(ln, opts.tls)
	}
	s.url = scheme + "://" + s.host
	if opts.username != "" {
		handler = basicAuth(handler, opts.username, opts.password)
	}
	s.httpServer = &http.Server{
		Handler:           s.count(handler),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(logWriter{opts.logf}, "", 0),
		ConnState:         s.trackConn,
	}
	go func() {
		defer close(s.done)
		_ = s.httpServer.Serve(ln) // returns when stop closes the listener
	}()
	return s, nil
}

// count counts every request that arrives, with or without credentials.
func (s *server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// requestCount is the number of requests for path so far.
func (s *server) requestCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// resetRequests sets every count to zero.
func (s *server) resetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.requests)
}

// trackConn records the state of every open connection, for stop.
func (s *server) trackConn(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == http.StateClosed || state == http.StateHijacked {
		delete(s.conns, c)
		return
	}
	s.conns[c] = state
}

// closeNewConns closes the connections that have not sent a request yet.
// http.Server.Shutdown waits 5 seconds for those, and HTTP clients leave
// such spare connections behind when they dial ahead of parallel requests.
func (s *server) closeNewConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, state := range s.conns {
		if state == http.StateNew {
			_ = c.Close()
		}
	}
}

// stop closes the listener, so that later connections are refused, and
// waits up to 10 seconds for requests in flight. It is idempotent.
func (s *server) stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown := make(chan error, 1)
		go func() { shutdown <- s.httpServer.Shutdown(ctx) }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for waiting := true; waiting; {
			select {
			case err := <-shutdown:
				if err != nil {
					_ = s.httpServer.Close()
				}
				waiting = false
			case <-tick.C:
				s.closeNewConns()
			}
		}
		<-s.done
	})
}

// basicAuth answers 401 with a Basic challenge unless the request carries
// username and password. Both Helm's HTTP getter and its OCI registry
// client (ORAS) answer such a challenge with the credentials they hold.
func basicAuth(next http.Handler, username, password string) http.Handler {
	wantUser, wantPass := []byte(username), []byte(password)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		// Both comparisons run, so the time does not tell which failed.
		userOK := subtle.ConstantTimeCompare([]byte(user), wantUser) == 1
		passOK := subtle.ConstantTimeCompare([]byte(pass), wantPass) == 1
		if !ok || !userOK || !passOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="chartserve"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logWriter hands each line written to it to logf, or drops it.
type logWriter struct {
	logf func(format string, args ...any)
}

func (l logWriter) Write(p []byte) (int, error) {
	if l.logf != nil {
		for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
			l.logf("%s", line)
		}
	}
	return len(p), nil
}

// contextTransport ends every request of base when ctx ends, for clients
// (like Helm's registry client) whose methods take no context.
type contextTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t contextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	ctx, cancel := context.WithCancel(req.Context())
	stopAfter := context.AfterFunc(t.ctx, cancel)
	release := func() {
		stopAfter()
		cancel()
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		if ctxErr := t.ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releaseBody calls release once the body is closed.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

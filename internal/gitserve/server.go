package gitserve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure Start.
type Options struct {
	// Dir holds the bare repositories (Dir/repos) and git's private HOME
	// (Dir/home); both are created when missing.
	Dir string
	// Addr is the address to listen on; empty means a free port on
	// 127.0.0.1.
	Addr string
	// Name and Email author the commits the server makes; empty means
	// "Tether <tether@example.invalid>".
	Name, Email string
	// Wrap, when set, wraps the handler that runs `git http-backend`, to
	// check credentials or record requests.
	Wrap func(http.Handler) http.Handler
	// Logf, when set, receives the messages of git http-backend and of
	// net/http, one line per call.
	Logf func(format string, args ...any)
}

// Server serves the bare repositories under Root over HTTP.
type Server struct {
	// URL is "http://HOST:PORT", without a trailing slash.
	URL string
	// Root holds the bare repositories; "<name>.git" under Root is served
	// at URL + "/<name>.git".
	Root string
	// Git runs git as the server does.
	Git *Git

	httpServer *http.Server
	done       chan struct{}
	stopOnce   sync.Once
}

// Start listens and serves in the background until Stop.
func Start(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("gitserve: Options.Dir is empty")
	}
	git, err := NewGit(filepath.Join(opts.Dir, "home"))
	if err != nil {
		return nil, fmt.Errorf("gitserve: %w", err)
	}
	if opts.Name != "" {
		git.Name = opts.Name
	}
	if opts.Email != "" {
		git.Email = opts.Email
	}
	s := &Server{Root: filepath.Join(opts.Dir, "repos"), Git: git, done: make(chan struct{})}
	if err := mkdirAll(s.Root); err != nil {
		return nil, fmt.Errorf("gitserve: %w", err)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gitserve: listen on %s: %w", addr, err)
	}
	s.URL = "http://" + ln.Addr().String()
	logs := logWriter{opts.Logf}
	var handler http.Handler = s.backend(logs)
	if opts.Wrap != nil {
		handler = opts.Wrap(handler)
	}
	s.httpServer = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(logs, "", 0),
	}
	go func() {
		defer close(s.done)
		_ = s.httpServer.Serve(ln) // returns when Stop closes the listener
	}()
	return s, nil
}

// Stop closes the listener, so that later connections are refused, and
// waits up to 10 seconds for requests in flight. It is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.httpServer.Shutdown(ctx); err != nil {
			_ = s.httpServer.Close()
		}
		<-s.done
	})
}

// backend hands every request to `git http-backend` through CGI.
func (s *Server) backend(logs logWriter) http.Handler {
	cgiHandler := &cgi.Handler{
		Path:   s.Git.Path,
		Args:   []string{"http-backend"},
		Dir:    s.Root,
		Env:    append(s.Git.IsolatedEnv(), "GIT_PROJECT_ROOT="+s.Root, "GIT_HTTP_EXPORT_ALL=1"),
		Logger: log.New(logs, "cgi: ", 0),
		Stderr: logs,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := unchunk(r); err != nil {
			http.Error(w, "read request body", http.StatusBadRequest)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	})
}

// unchunk reads a chunked request body into memory, because net/http/cgi
// refuses chunked bodies and git sends large pushes chunked.
func unchunk(r *http.Request) error {
	if len(r.TransferEncoding) == 0 || r.TransferEncoding[0] != "chunked" {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read chunked body of %s: %w", r.URL.Path, err)
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	return nil
}

// logWriter sends the log lines of net/http, net/http/cgi and git's
// stderr to Options.Logf, or nowhere.
type logWriter struct {
	logf func(format string, args ...any)
}

func (w logWriter) Write(p []byte) (int, error) {
	if w.logf != nil {
		w.logf("%s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

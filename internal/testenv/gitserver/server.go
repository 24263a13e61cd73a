package gitserver

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tether-gitops/tether/internal/gitserve"
)

// Options configure New. The zero value serves every repository over HTTP
// without authentication.
type Options struct {
	// Username and Password are the HTTP basic-auth credentials every
	// request must carry when Username is not empty.
	Username, Password string
	// BearerToken, when set, is accepted as "Authorization: Bearer <token>"
	// (besides basic auth when Username is also set). With BearerToken set
	// and Username empty, the bearer token is the only way in.
	BearerToken string
	// SSH also starts an SSH server on loopback; see Server.SSHURL.
	SSH bool
	// AuthorizedKey is the one public key the SSH server lets in, under any
	// user name. Nil lets nobody in.
	AuthorizedKey ssh.PublicKey
	// BeforePush, when set, runs before each push over HTTP (a POST to
	// git-receive-pack) is served, with the request's path: a test can
	// push something else first, to make the client lose a race.
	BeforePush func(path string)
}

// Server is a Git server on 127.0.0.1 backed by bare repositories in a
// temporary directory. It serves the smart HTTP protocol through
// `git http-backend` (package gitserve) and, when Options.SSH is set, the
// SSH protocol through `git upload-pack` and `git receive-pack`.
type Server struct {
	// URL is "http://127.0.0.1:PORT", without a trailing slash.
	URL string
	// SSHURL is "ssh://git@127.0.0.1:PORT" when Options.SSH is set, else "".
	SSHURL string

	opts Options
	http *gitserve.Server
	cli  *gitserve.Git // runs git apart from the machine's configuration
	root string        // the bare repositories
	work string        // parent of the repositories' work clones
	logf func(format string, args ...any)
	ssh  *sshServer // nil without Options.SSH

	ctx    context.Context // cancelled by Stop; ends SSH git processes
	cancel context.CancelFunc

	mu         sync.Mutex
	requests   []Request
	sshUploads map[string]int // repo "<name>.git" -> SSH upload-pack sessions
	stopped    bool
	stopOnce   sync.Once
}

// Request is one HTTP request the server answered.
type Request struct {
	Method string
	Path   string // URL path, without the query
	// Service is "git-upload-pack" or "git-receive-pack" when the request
	// belongs to one (from ?service= or the last path element), else "".
	Service  string
	Status   int
	BytesOut int64 // response body bytes written
	Time     time.Time
}

// New starts a server on 127.0.0.1 and stops it with t.Cleanup. It fails
// the test when git is not on PATH.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	base := t.TempDir()
	s := &Server{
		opts:       opts,
		work:       filepath.Join(base, "work"),
		logf:       t.Logf,
		sshUploads: map[string]int{},
	}
	if err := os.MkdirAll(s.work, 0o755); err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.Stop)

	srv, err := gitserve.Start(gitserve.Options{
		Dir:  base,
		Name: "Tether Test", Email: "tether-test@example.invalid",
		Wrap: s.wrap,
		Logf: s.log,
	})
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	s.http, s.cli, s.root, s.URL = srv, srv.Git, srv.Root, srv.URL
	if opts.SSH {
		srv, err := newSSHServer(s)
		if err != nil {
			t.Fatalf("gitserver: %v", err)
		}
		s.ssh = srv
		s.SSHURL = "ssh://git@" + srv.addr
	}
	return s
}

// Stop closes the listeners, so that later connections are refused, and
// waits for requests in flight. It is idempotent; New registers it with
// t.Cleanup.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		if s.ssh != nil {
			s.ssh.close()
		}
		if s.http != nil {
			s.http.Stop()
		}
		s.cancel()
		if s.ssh != nil {
			s.ssh.wait()
		}
	})
}

// Requests returns every HTTP request served so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// UploadPacks counts the upload-pack exchanges for repo "<name>.git" (the
// ".git" may be left out): HTTP POSTs to <repo>/git-upload-pack that passed
// authentication, plus SSH git-upload-pack sessions. go-git makes one per
// fetch that downloads objects; git's protocol v2 also POSTs to list refs.
func (s *Server) UploadPacks(repo string) int {
	repo = strings.Trim(repo, "/")
	if !strings.HasSuffix(repo, ".git") {
		repo += ".git"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.sshUploads[repo]
	want := "/" + repo + "/git-upload-pack"
	for _, r := range s.requests {
		if r.Method == http.MethodPost && r.Path == want &&
			r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			n++
		}
	}
	return n
}

// KnownHosts returns the known_hosts line for the SSH host key,
// "[127.0.0.1]:PORT ssh-ed25519 AAAA...", without a trailing newline. It
// returns "" when the server has no SSH.
func (s *Server) KnownHosts() string {
	if s.ssh == nil {
		return ""
	}
	return s.ssh.knownHosts()
}

// record appends one served request to the log.
func (s *Server) record(r Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
}

// countSSHUpload notes one SSH upload-pack session for repo.
func (s *Server) countSSHUpload(repo string) {
	s.mu.Lock()
	s.sshUploads[repo]++
	s.mu.Unlock()
}

// log sends the messages of net/http, net/http/cgi and git's stderr to
// the test log until the server stops.
func (s *Server) log(format string, args ...any) {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if !stopped {
		s.logf("gitserver: "+format, args...)
	}
}

package gitserver

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
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
}

// Server is a Git server on 127.0.0.1 backed by bare repositories in a
// temporary directory. It serves the smart HTTP protocol through
// `git http-backend` and, when Options.SSH is set, the SSH protocol through
// `git upload-pack` and `git receive-pack`.
type Server struct {
	// URL is "http://127.0.0.1:PORT", without a trailing slash.
	URL string
	// SSHURL is "ssh://git@127.0.0.1:PORT" when Options.SSH is set, else "".
	SSHURL string

	opts    Options
	gitPath string
	root    string // GIT_PROJECT_ROOT: the bare repositories
	home    string // HOME of every git process
	work    string // parent of the repositories' work clones
	logf    func(format string, args ...any)

	httpServer *http.Server
	httpDone   chan struct{}
	ssh        *sshServer // nil without Options.SSH

	ctx    context.Context // cancelled by Stop; ends SSH git processes
	cancel context.CancelFunc

	mu         sync.Mutex
	requests   []Request
	sshUploads map[string]int // repo "<name>.git" -> SSH upload-pack sessions
	repos      map[string]bool
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

// gitConfig is passed to every git process the server starts, through
// GIT_CONFIG_COUNT, so that fetching any reachable or unreachable commit by
// hash and pushing over HTTP work without touching the repositories' config.
var gitConfig = [][2]string{
	{"uploadpack.allowReachableSHA1InWant", "true"},
	{"uploadpack.allowAnySHA1InWant", "true"},
	{"uploadpack.allowTipSHA1InWant", "true"},
	{"uploadpack.allowFilter", "true"},
	{"http.uploadpack", "true"},
	{"http.receivepack", "true"},
	{"init.defaultBranch", "master"},
	{"commit.gpgsign", "false"},
	{"tag.gpgsign", "false"},
}

// New starts a server on 127.0.0.1 and stops it with t.Cleanup. It fails
// the test when git is not on PATH.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("gitserver: the git command is needed: %v", err)
	}
	base := t.TempDir()
	s := &Server{
		opts:       opts,
		gitPath:    gitPath,
		root:       filepath.Join(base, "repos"),
		home:       filepath.Join(base, "home"),
		work:       filepath.Join(base, "work"),
		logf:       t.Logf,
		sshUploads: map[string]int{},
		repos:      map[string]bool{},
	}
	for _, dir := range []string{s.root, s.home, s.work} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("gitserver: %v", err)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.Stop)

	if err := s.startHTTP(); err != nil {
		t.Fatalf("gitserver: %v", err)
	}
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

// startHTTP listens on a free loopback port and serves in the background.
func (s *Server) startHTTP() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for HTTP: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.httpServer = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(logWriter{s}, "", 0),
	}
	s.httpDone = make(chan struct{})
	go func() {
		defer close(s.httpDone)
		_ = s.httpServer.Serve(ln) // returns when Stop closes the listener
	}()
	return nil
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
		if s.httpServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.httpServer.Shutdown(ctx); err != nil {
				_ = s.httpServer.Close()
			}
			cancel()
			<-s.httpDone
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

// gitEnv is the environment of every git process: the caller's environment
// without GIT_* variables (a test run from a Git hook has GIT_DIR set), with
// a private HOME, no system config, no prompts and the server's config.
func (s *Server) gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GIT_"), name == "HOME", name == "XDG_CONFIG_HOME",
			name == "SSH_ASKPASS", name == "EMAIL":
			continue
		}
		env = append(env, kv)
	}
	return append(env, s.isolatedEnv()...)
}

// isolatedEnv are the variables that keep git away from the user's and the
// system's configuration, plus gitConfig.
func (s *Server) isolatedEnv() []string {
	env := []string{
		"HOME=" + s.home,
		"XDG_CONFIG_HOME=" + filepath.Join(s.home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(gitConfig)),
	}
	for i, kv := range gitConfig {
		env = append(env,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

// logWriter sends the log lines of net/http, net/http/cgi and git's stderr
// to the test log until the server stops.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	stopped := w.s.stopped
	w.s.mu.Unlock()
	if !stopped {
		w.s.logf("gitserver: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

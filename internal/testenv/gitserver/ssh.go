package gitserver

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer serves `git-upload-pack` and `git-receive-pack` exec requests
// to clients holding Options.AuthorizedKey.
type sshServer struct {
	s       *Server
	addr    string // "127.0.0.1:PORT"
	hostKey ssh.PublicKey
	config  *ssh.ServerConfig
	ln      net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newSSHServer generates an ed25519 host key, listens on a free loopback
// port and accepts connections in the background.
func newSSHServer(s *Server) (*sshServer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate SSH host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("SSH host key: %w", err)
	}
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			want := s.opts.AuthorizedKey
			if want != nil && bytes.Equal(key.Marshal(), want.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("public key of %s not authorized", meta.User())
		},
	}
	config.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for SSH: %w", err)
	}
	srv := &sshServer{
		s:       s,
		addr:    ln.Addr().String(),
		hostKey: signer.PublicKey(),
		config:  config,
		ln:      ln,
		conns:   map[net.Conn]struct{}{},
	}
	srv.wg.Add(1)
	go srv.accept()
	return srv, nil
}

// knownHosts is the known_hosts line for the host key at addr.
func (srv *sshServer) knownHosts() string {
	return knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey)
}

// close stops accepting and drops every open connection.
func (srv *sshServer) close() {
	_ = srv.ln.Close()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for c := range srv.conns {
		_ = c.Close()
	}
	srv.conns = nil
}

// wait returns when every connection's goroutines have ended.
func (srv *sshServer) wait() { srv.wg.Wait() }

func (srv *sshServer) accept() {
	defer srv.wg.Done()
	for {
		conn, err := srv.ln.Accept()
		if err != nil {
			return // closed by Stop
		}
		srv.mu.Lock()
		if srv.conns == nil { // stopped meanwhile
			srv.mu.Unlock()
			_ = conn.Close()
			return
		}
		srv.conns[conn] = struct{}{}
		srv.wg.Add(1)
		srv.mu.Unlock()
		go srv.serveConn(conn)
	}
}

// serveConn runs the handshake and serves the connection's sessions.
func (srv *sshServer) serveConn(conn net.Conn) {
	defer srv.wg.Done()
	defer func() {
		_ = conn.Close()
		srv.mu.Lock()
		delete(srv.conns, conn)
		srv.mu.Unlock()
	}()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	sconn, chans, reqs, err := ssh.NewServerConn(conn, srv.config)
	if err != nil {
		return // failed handshake or refused key: the client sees why
	}
	defer sconn.Close()
	_ = conn.SetDeadline(time.Time{})
	go ssh.DiscardRequests(reqs)
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions are served")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			srv.serveSession(ch, chReqs)
		}()
	}
	sessions.Wait()
}

// serveSession accepts "env GIT_PROTOCOL" and one "exec" request, runs the
// command and reports its exit status.
func (srv *sshServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var protocol string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL"
			if ok {
				protocol = kv.Value
			}
			_ = req.Reply(ok, nil)
		case "exec":
			var cmd struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &cmd); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			status := srv.exec(ch, cmd.Command, protocol)
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// exec runs one Git command on the channel and returns its exit status.
// Errors go to the client's stderr.
func (srv *sshServer) exec(ch ssh.Channel, command, protocol string) uint32 {
	service, repo, err := parseCommand(command)
	if err == nil {
		err = srv.repoExists(repo)
	}
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "gitserver: %v\n", err)
		return 128
	}
	if service == "git-upload-pack" {
		srv.s.countSSHUpload(repo)
	}
	cmd := srv.s.cli.Command(srv.s.ctx, "",
		strings.TrimPrefix(service, "git-"), filepath.Join(srv.s.root, filepath.FromSlash(repo)))
	if protocol != "" {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+protocol)
	}
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "gitserver: %s: %v\n", service, err)
		return 128
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "gitserver: %s: %v\n", service, err)
		return 128
	}
	// Copy stdin ourselves: exec.Cmd would wait for the client to close its
	// side even after git has finished.
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return uint32(exit.ExitCode())
	default:
		return 128
	}
}

// repoExists checks that repo is a directory under the server's root.
func (srv *sshServer) repoExists(repo string) error {
	info, err := os.Stat(filepath.Join(srv.s.root, filepath.FromSlash(repo)))
	if err != nil || !info.IsDir() {
		return fmt.Errorf("repository %q not found", repo)
	}
	return nil
}

// parseCommand splits an exec command such as `git-upload-pack '/a.git'`
// into the service and the repository path relative to the root ("a.git").
// It refuses other commands and paths that would leave the root.
func parseCommand(command string) (service, repo string, err error) {
	name, arg, ok := strings.Cut(strings.TrimSpace(command), " ")
	if name == "git" { // "git upload-pack '/a.git'"
		var sub string
		sub, arg, ok = strings.Cut(strings.TrimSpace(arg), " ")
		name = "git-" + sub
	}
	if !ok || (name != "git-upload-pack" && name != "git-receive-pack") {
		return "", "", fmt.Errorf("command %q not allowed: only git-upload-pack and git-receive-pack", command)
	}
	p, err := unquote(strings.TrimSpace(arg))
	if err != nil {
		return "", "", fmt.Errorf("command %q: %w", command, err)
	}
	p = strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." || strings.ContainsRune(elem, 0) {
			return "", "", fmt.Errorf("repository path %q leaves the root", p)
		}
	}
	p = path.Clean(p)
	if p == "." || p == "" {
		return "", "", fmt.Errorf("command %q names no repository", command)
	}
	return name, p, nil
}

// unquote undoes the POSIX shell quoting git uses for the path: single
// quotes around it, and a quote or ! inside written as a closing quote, a
// backslash-escaped character and an opening quote. A bare word is taken
// as is.
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated quote")
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '\\':
			if i+1 >= len(s) {
				return "", errors.New("trailing backslash")
			}
			i++
			b.WriteByte(s[i])
		case ' ', '\t', '\n':
			return "", errors.New("more than one argument")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

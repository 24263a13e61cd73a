package gitserver_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// client runs the git CLI as a user of the server would, isolated from the
// machine's Git configuration.
type client struct {
	t    *testing.T
	home string
	env  []string
}

func newClient(t *testing.T, env ...string) *client {
	t.Helper()
	home := t.TempDir()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS="}
	return &client{t: t, home: home, env: append(base, env...)}
}

// run runs git in dir and returns its combined output.
func (c *client) run(dir string, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// must runs git and fails the test on error.
func (c *client) must(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// clone clones url into a new directory and returns the directory.
func (c *client) clone(url string, args ...string) (string, error) {
	c.t.Helper()
	dir := filepath.Join(c.t.TempDir(), "clone")
	out, err := c.run("", append(append(args, "clone", "-q"), url, dir)...)
	if err != nil {
		return "", fmt.Errorf("clone: %w: %s", err, out)
	}
	return dir, nil
}

func withUser(raw, user, pass string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword(user, pass)
	return u.String()
}

func TestHTTPClone(t *testing.T) {
	const user, pass, token = "alice", "s3cret", "tok-123"
	tests := []struct {
		name    string
		opts    gitserver.Options
		url     func(repo string) string
		args    []string
		wantErr bool
	}{
		{name: "anonymous", opts: gitserver.Options{}},
		{name: "basic auth", opts: gitserver.Options{Username: user, Password: pass},
			url: func(r string) string { return withUser(r, user, pass) }},
		{name: "no credentials", opts: gitserver.Options{Username: user, Password: pass}, wantErr: true},
		{name: "wrong password", opts: gitserver.Options{Username: user, Password: pass},
			url: func(r string) string { return withUser(r, user, "nope") }, wantErr: true},
		{name: "bearer token", opts: gitserver.Options{BearerToken: token},
			args: []string{"-c", "http.extraHeader=Authorization: Bearer " + token}},
		{name: "bearer token besides basic", opts: gitserver.Options{Username: user, Password: pass, BearerToken: token},
			args: []string{"-c", "http.extraHeader=Authorization: Bearer " + token}},
		{name: "basic besides bearer token", opts: gitserver.Options{Username: user, Password: pass, BearerToken: token},
			url: func(r string) string { return withUser(r, user, pass) }},
		{name: "wrong bearer token", opts: gitserver.Options{BearerToken: token},
			args: []string{"-c", "http.extraHeader=Authorization: Bearer nope"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitserver.New(t, tt.opts)
			repo := srv.CreateRepo(t, "app")
			want := repo.Commit(t, "master", map[string]string{"README.md": "hello\n"}, "first")
			url := repo.URL
			if tt.url != nil {
				url = tt.url(url)
			}
			dir, err := newClient(t).clone(url, tt.args...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("clone succeeded, want an error")
				}
				if !hasStatus(srv.Requests(), http.StatusUnauthorized) {
					t.Errorf("no 401 in %+v", srv.Requests())
				}
				if n := srv.UploadPacks("app.git"); n != 0 {
					t.Errorf("UploadPacks = %d after refused clone, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := newClient(t).must(dir, "rev-parse", "HEAD"); got != want {
				t.Errorf("HEAD = %s, want %s", got, want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || string(b) != "hello\n" {
				t.Errorf("README.md = %q, %v", b, err)
			}
		})
	}
}

func hasStatus(reqs []gitserver.Request, status int) bool {
	for _, r := range reqs {
		if r.Status == status {
			return true
		}
	}
	return false
}

func TestHTTPChallenge(t *testing.T) {
	tests := []struct {
		name string
		opts gitserver.Options
		want []string
	}{
		{"basic", gitserver.Options{Username: "u", Password: "p"}, []string{`Basic realm="gitserver"`}},
		{"bearer", gitserver.Options{BearerToken: "t"}, []string{`Bearer realm="gitserver"`}},
		{"both", gitserver.Options{Username: "u", Password: "p", BearerToken: "t"},
			[]string{`Basic realm="gitserver"`, `Bearer realm="gitserver"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitserver.New(t, tt.opts)
			repo := srv.CreateRepo(t, "app")
			resp, err := http.Get(repo.URL + "/info/refs?service=git-upload-pack")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", resp.StatusCode)
			}
			if got := resp.Header.Values("WWW-Authenticate"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.want)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || reqs[0].Service != "git-upload-pack" || reqs[0].Status != 401 ||
				reqs[0].Path != "/app.git/info/refs" || reqs[0].Method != http.MethodGet {
				t.Errorf("Requests() = %+v", reqs)
			}
		})
	}
}

func TestRequestsAndUploadPacks(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "org/app")
	repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Fatalf("the helpers' pushes show in Requests(): %+v", reqs)
	}
	c := newClient(t)
	v0 := []string{"-c", "protocol.version=0"} // one POST per fetch
	dir, err := c.clone(repo.URL, v0...)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.UploadPacks("org/app.git"); n != 1 {
		t.Errorf("UploadPacks after clone = %d, want 1", n)
	}
	if n := srv.UploadPacks("org/app"); n != 1 {
		t.Errorf(`UploadPacks("org/app") = %d, want 1`, n)
	}
	var post *gitserver.Request
	for i, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			post = &srv.Requests()[i]
		}
		if r.Service != "git-upload-pack" || r.Status != http.StatusOK || r.BytesOut == 0 || r.Time.IsZero() {
			t.Errorf("request %+v", r)
		}
	}
	if post == nil || post.Path != "/org/app.git/git-upload-pack" {
		t.Errorf("POST = %+v", post)
	}

	// A commit that is no branch's tip can still be fetched by hash.
	second := repo.Commit(t, "master", map[string]string{"a": "2"}, "second")
	repo.Commit(t, "master", map[string]string{"a": "3"}, "third")
	c.must(dir, append(v0, "fetch", "-q", "origin", second)...)
	if got := c.must(dir, "rev-parse", "FETCH_HEAD"); got != second {
		t.Errorf("FETCH_HEAD = %s, want %s", got, second)
	}
	if n := srv.UploadPacks("org/app.git"); n != 2 {
		t.Errorf("UploadPacks after fetch = %d, want 2", n)
	}
	if n := srv.UploadPacks("other.git"); n != 0 {
		t.Errorf("UploadPacks(other.git) = %d, want 0", n)
	}
}

func TestHTTPPush(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{Username: "u", Password: "p"})
	repo := srv.CreateRepo(t, "app")
	repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	c := newClient(t)
	dir, err := c.clone(withUser(repo.URL, "u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	// A body bigger than http.postBuffer arrives chunked.
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	c.must(dir, "add", "big.bin")
	c.must(dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "big")
	c.must(dir, "push", "-q", "origin", "HEAD:refs/heads/master")
	want := c.must(dir, "rev-parse", "HEAD")
	if got := repo.Head(t, "master"); got != want {
		t.Errorf("Head = %s, want %s", got, want)
	}
	// The helpers build on what was pushed.
	next := repo.Commit(t, "master", map[string]string{"b": "2"}, "next")
	c.must(dir, "pull", "-q", "--ff-only", "origin", "master")
	if got := c.must(dir, "rev-parse", "HEAD^"); got != want {
		t.Errorf("parent of %s = %s, want %s", next, got, want)
	}
}

func TestStop(t *testing.T) {
	key := newKey(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: key.signer.PublicKey()})
	repo := srv.CreateRepo(t, "app")
	repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	c := newClient(t)
	c.must("", "ls-remote", repo.URL)
	srv.Stop()
	srv.Stop() // idempotent
	for _, raw := range []string{srv.URL, srv.SSHURL} {
		u, _ := url.Parse(raw)
		conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Stop", u.Host)
		}
	}
	if out, err := c.run("", "ls-remote", repo.URL); err == nil {
		t.Errorf("ls-remote succeeded after Stop: %s", out)
	}
}

func TestRepoHelpers(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "app.git") // the suffix is optional
	if repo.Name != "app" || repo.URL != srv.URL+"/app.git" || repo.SSHURL != "" {
		t.Fatalf("repo = %+v", repo)
	}
	// A branch made before master has no parent.
	orphan := repo.Commit(t, "orphan", map[string]string{"o": "o"}, "orphan")
	first := repo.Commit(t, "master", map[string]string{"a/b.txt": "b", "c.txt": "c"}, "first")
	second := repo.Symlink(t, "master", "a/link", "../c.txt", "link")
	third := repo.Commit(t, "master", map[string]string{"c.txt": ""}, "delete c")
	feature := repo.Commit(t, "feature/x", map[string]string{"f": "f"}, "feature")
	repo.Tag(t, "v1.0.0", first)
	repo.Tag(t, "v1.0.0", second) // moves
	empty := repo.Commit(t, "master", nil, "empty")

	c := newClient(t)
	git := func(args ...string) string { return c.must(repo.Path, args...) }
	for _, h := range []string{orphan, first, second, third, feature, empty} {
		if len(h) != 40 {
			t.Fatalf("hash %q is not 40 hex digits", h)
		}
	}
	checks := []struct{ got, want string }{
		{repo.Head(t, "master"), empty},
		{repo.Head(t, "orphan"), orphan},
		{repo.Head(t, "feature/x"), feature},
		{git("rev-list", "--count", orphan), "1"},
		{git("rev-parse", feature+"^"), third},
		{git("rev-parse", empty+"^{tree}"), git("rev-parse", third+"^{tree}")},
		{git("cat-file", "-t", "v1.0.0"), "commit"}, // lightweight
		{git("rev-parse", "v1.0.0"), second},
		{git("ls-tree", "--name-only", "-r", third), "a/b.txt\na/link"},
		{git("ls-tree", "--name-only", "-r", feature), "a/b.txt\na/link\nf"},
		{strings.Fields(git("ls-tree", second, "a/link"))[0], "120000"},
		{git("cat-file", "-p", second+":a/link"), "../c.txt"},
		{git("symbolic-ref", "HEAD"), "refs/heads/master"},
	}
	for i, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("check %d: got %q, want %q", i, ch.got, ch.want)
		}
	}
}

// key is an SSH client key with its private half written to a file.
type key struct {
	signer ssh.Signer
	path   string
}

func newKey(t *testing.T) key {
	t.Helper()
	signer, private := gitserver.NewClientKey(t)
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, private, 0o600); err != nil {
		t.Fatal(err)
	}
	return key{signer: signer, path: path}
}

// sshClient is a git CLI that reaches srv over OpenSSH with k, checking
// the host key against srv.KnownHosts().
func sshClient(t *testing.T, srv *gitserver.Server, k key) *client {
	t.Helper()
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(srv.KnownHosts()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	command := fmt.Sprintf("ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes "+
		"-o UserKnownHostsFile='%s' -o StrictHostKeyChecking=yes -i '%s'", knownHosts, k.path)
	return newClient(t, "GIT_SSH_COMMAND="+command)
}

func TestSSHClone(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	good, bad := newKey(t), newKey(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: good.signer.PublicKey()})
	u, _ := url.Parse(srv.SSHURL)
	if want := "[127.0.0.1]:" + u.Port() + " ssh-ed25519 "; !strings.HasPrefix(srv.KnownHosts(), want) {
		t.Errorf("KnownHosts() = %q, want prefix %q", srv.KnownHosts(), want)
	}
	repo := srv.CreateRepo(t, "app")
	want := repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	if repo.SSHURL != srv.SSHURL+"/app.git" {
		t.Errorf("SSHURL = %q", repo.SSHURL)
	}

	c := sshClient(t, srv, good)
	dir, err := c.clone(repo.SSHURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.must(dir, "rev-parse", "HEAD"); got != want {
		t.Errorf("HEAD = %s, want %s", got, want)
	}
	if n := srv.UploadPacks("app.git"); n != 1 {
		t.Errorf("UploadPacks = %d, want 1", n)
	}

	// Push back over SSH (git-receive-pack).
	c.must(dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "ssh")
	c.must(dir, "push", "-q", "origin", "HEAD:refs/heads/master")
	if got, want := repo.Head(t, "master"), c.must(dir, "rev-parse", "HEAD"); got != want {
		t.Errorf("Head after push = %s, want %s", got, want)
	}

	if _, err := sshClient(t, srv, bad).clone(repo.SSHURL); err == nil {
		t.Error("clone with an unauthorized key succeeded")
	}
	if n := srv.UploadPacks("app.git"); n != 1 {
		t.Errorf("UploadPacks after refused clone = %d, want 1", n)
	}
}

func TestSSHCommands(t *testing.T) {
	k := newKey(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: k.signer.PublicKey()})
	repo := srv.CreateRepo(t, "app")
	repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	// ".." is refused even where it would stay inside the root.
	srv.CreateRepo(t, "outside")

	u, _ := url.Parse(srv.SSHURL)
	cfg := &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(k.signer)},
		HostKeyCallback: hostKeyCallback(t, srv),
		Timeout:         10 * time.Second,
	}
	conn, err := ssh.Dial("tcp", u.Host, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tests := []struct {
		command string
		status  int // 0: success
	}{
		{"git-upload-pack '/app.git'", 0},
		{"git-upload-pack 'app.git'", 0},
		{"git upload-pack '/app.git'", 0},
		{"git-upload-pack '/app.git/../outside.git'", 128},
		{"git-upload-pack '../repos/app.git'", 128},
		{"git-upload-pack '/missing.git'", 128},
		{"ls /", 128},
		{"git-upload-archive '/app.git'", 128},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			sess, err := conn.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			// "0000" ends the exchange right after the ref advertisement.
			sess.Stdin = strings.NewReader("0000")
			out, err := sess.CombinedOutput(tt.command)
			var exit *ssh.ExitError
			switch {
			case tt.status == 0 && err != nil:
				t.Fatalf("%v: %s", err, out)
			case tt.status == 0 && !strings.Contains(string(out), "refs/heads/master"):
				t.Errorf("no ref advertisement in %q", out)
			case tt.status != 0 && !errors.As(err, &exit):
				t.Fatalf("err = %v, want exit status %d", err, tt.status)
			case tt.status != 0 && exit.ExitStatus() != tt.status:
				t.Errorf("exit status %d, want %d (%s)", exit.ExitStatus(), tt.status, out)
			}
		})
	}
}

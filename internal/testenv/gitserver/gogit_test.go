package gitserver_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// hostKeyCallback checks host keys against srv.KnownHosts(), the way a
// client given that line as its known_hosts file would.
func hostKeyCallback(t *testing.T, srv *gitserver.Server) ssh.HostKeyCallback {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(srv.KnownHosts()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// goGitClone clones url with go-git and returns the cloned HEAD.
func goGitClone(t *testing.T, url string, auth transport.AuthMethod) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := git.PlainCloneContext(ctx, t.TempDir(), false, &git.CloneOptions{URL: url, Auth: auth})
	if err != nil {
		return "", err
	}
	head, err := r.Head()
	if err != nil {
		return "", err
	}
	return head.Hash().String(), nil
}

func TestGoGitHTTP(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{Username: "u", Password: "p", BearerToken: "tok"})
	repo := srv.CreateRepo(t, "app")
	want := repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	tests := []struct {
		name    string
		auth    transport.AuthMethod
		wantErr bool
	}{
		{"basic auth", &githttp.BasicAuth{Username: "u", Password: "p"}, false},
		{"bearer token", &githttp.TokenAuth{Token: "tok"}, false},
		{"wrong password", &githttp.BasicAuth{Username: "u", Password: "x"}, true},
		{"no credentials", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.UploadPacks("app.git")
			got, err := goGitClone(t, repo.URL, tt.auth)
			if tt.wantErr {
				if err == nil {
					t.Fatal("clone succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("HEAD = %s, want %s", got, want)
			}
			if n := srv.UploadPacks("app.git") - before; n != 1 {
				t.Errorf("clone made %d upload-packs, want 1", n)
			}
		})
	}
}

func TestGoGitSSH(t *testing.T) {
	good, bad := newKey(t), newKey(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: good.signer.PublicKey()})
	repo := srv.CreateRepo(t, "app")
	want := repo.Commit(t, "master", map[string]string{"a": "1"}, "first")
	auth := func(k key) transport.AuthMethod {
		a := &gitssh.PublicKeys{User: "git", Signer: k.signer}
		a.HostKeyCallback = hostKeyCallback(t, srv)
		return a
	}

	got, err := goGitClone(t, repo.SSHURL, auth(good))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("HEAD = %s, want %s", got, want)
	}
	if n := srv.UploadPacks("app.git"); n != 1 {
		t.Errorf("UploadPacks = %d, want 1", n)
	}
	if _, err := goGitClone(t, repo.SSHURL, auth(bad)); err == nil {
		t.Error("clone with an unauthorized key succeeded")
	}

	// A host key other than the server's is refused.
	other := gitserver.New(t, gitserver.Options{SSH: true})
	a := &gitssh.PublicKeys{User: "git", Signer: good.signer}
	a.HostKeyCallback = hostKeyCallback(t, other)
	if _, err := goGitClone(t, repo.SSHURL, a); err == nil {
		t.Error("clone succeeded against a wrong known_hosts")
	}
}

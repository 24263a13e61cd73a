package git

import (
	"errors"
	"strings"
	"testing"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// mustAuth reads a Secret's data.
func mustAuth(t *testing.T, kv ...string) *Auth {
	t.Helper()
	data := map[string][]byte{}
	for i := 0; i < len(kv); i += 2 {
		data[kv[i]] = []byte(kv[i+1])
	}
	a, err := AuthFromSecret(data)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// assertAuthError checks an authentication failure's kind and message.
func assertAuthError(t *testing.T, err error, url, ref string, secrets ...string) {
	t.Helper()
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("error %v, want %v", err, ErrAuthentication)
	}
	msg := err.Error()
	if !strings.Contains(msg, url) || !strings.Contains(msg, ref) {
		t.Errorf("error %q does not name %s and %s", msg, url, ref)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error %q reveals a secret", msg)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	const password, wrong = "pa55-w0rd-alice", "not-the-pa55word"
	srv := gitserver.New(t, gitserver.Options{Username: "alice", Password: password})
	repo := srv.CreateRepo(t, "private")
	want := repo.Commit(t, "main", map[string]string{"a": "1"}, "one")
	f := newFetcher(t, Options{})
	ctx := testCtx(t)
	ref := Ref{Branch: "main"}

	good := mustAuth(t, "username", "alice", "password", password)
	res, err := f.Resolve(ctx, repo.URL, ref, good, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != want {
		t.Fatalf("resolved %s, want %s", res.Commit, want)
	}
	dir, release, err := f.Checkout(ctx, repo.URL, ref, res, good)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if readFile(t, dir, "a") != "1" {
		t.Error("checkout misses file a")
	}

	bad := mustAuth(t, "username", "alice", "password", wrong)
	_, err = f.Resolve(ctx, repo.URL, ref, bad, false)
	t.Log(err)
	assertAuthError(t, err, repo.URL, "branch 'main'", wrong, password)
	_, err = f.Resolve(ctx, repo.URL, ref, nil, false)
	assertAuthError(t, err, repo.URL, "branch 'main'")

	// The checkout is cached, but is not handed to credentials the server
	// refuses.
	_, _, err = f.Checkout(ctx, repo.URL, ref, res, bad)
	assertAuthError(t, err, repo.URL, "branch 'main'", wrong, password)
	if s := f.Stats(); s.Clones != 1 || s.CheckoutHits != 0 {
		t.Errorf("stats %+v, want 1 clone and no hit", s)
	}

	// Credentials in the URL are never shown.
	withUser := strings.Replace(repo.URL, "http://", "http://alice:"+wrong+"@", 1)
	_, err = f.Resolve(ctx, withUser, ref, nil, false)
	assertAuthError(t, err, repo.URL, "branch 'main'", wrong)
}

func TestBearerToken(t *testing.T) {
	const token, wrong = "t0ken-for-tether", "n0t-the-t0ken"
	srv := gitserver.New(t, gitserver.Options{BearerToken: token})
	repo := srv.CreateRepo(t, "private")
	want := repo.Commit(t, "master", map[string]string{"a": "1"}, "one")
	f := newFetcher(t, Options{})
	ctx := testCtx(t)

	good := mustAuth(t, "bearerToken", token)
	res, err := f.Resolve(ctx, repo.URL, Ref{}, good, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != want {
		t.Fatalf("resolved %s, want %s", res.Commit, want)
	}
	_, release, err := f.Checkout(ctx, repo.URL, Ref{}, res, good)
	if err != nil {
		t.Fatal(err)
	}
	release()

	_, err = f.Resolve(ctx, repo.URL, Ref{}, mustAuth(t, "bearerToken", wrong), false)
	assertAuthError(t, err, repo.URL, "branch 'master'", wrong, token)
}

// sshIdentity returns a new private key, PEM-encoded, and its signer.
func sshIdentity(t *testing.T) (string, ssh.Signer) {
	t.Helper()
	signer, private := gitserver.NewClientKey(t)
	return string(private), signer
}

func TestSSH(t *testing.T) {
	identity, signer := sshIdentity(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: signer.PublicKey()})
	repo := srv.CreateRepo(t, "app")
	want := repo.Commit(t, "master", map[string]string{"a": "1"}, "one")
	f := newFetcher(t, Options{})
	ctx := testCtx(t)

	good := mustAuth(t, "identity", identity, "known_hosts", srv.KnownHosts())
	res, err := f.Resolve(ctx, repo.SSHURL, Ref{}, good, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != want {
		t.Fatalf("resolved %s, want %s", res.Commit, want)
	}
	dir, release, err := f.Checkout(ctx, repo.SSHURL, Ref{}, res, good)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if readFile(t, dir, "a") != "1" {
		t.Error("checkout misses file a")
	}
	if n := srv.UploadPacks("app"); n < 1 {
		t.Errorf("server saw %d SSH upload-packs", n)
	}

	// A known_hosts with another key for the same host is refused.
	_, impostor := sshIdentity(t)
	host := strings.Fields(srv.KnownHosts())[0] // "[127.0.0.1]:PORT"
	wrongHosts := host + " " + string(ssh.MarshalAuthorizedKey(impostor.PublicKey()))
	_, err = f.Resolve(ctx, repo.SSHURL, Ref{}, mustAuth(t, "identity", identity, "known_hosts", wrongHosts), false)
	t.Log(err)
	if !errors.Is(err, ErrUntrustedHost) {
		t.Errorf("wrong known_hosts: error %v, want %v", err, ErrUntrustedHost)
	}
	// A known_hosts for other hosts only is refused too.
	_, err = f.Resolve(ctx, repo.SSHURL, Ref{}, mustAuth(t, "identity", identity,
		"known_hosts", knownhosts.Line([]string{"github.com"}, impostor.PublicKey())), false)
	if !errors.Is(err, ErrUntrustedHost) {
		t.Errorf("unknown host: error %v, want %v", err, ErrUntrustedHost)
	}
	// Without known_hosts, nothing is trusted, and nothing is sent.
	_, err = f.Resolve(ctx, repo.SSHURL, Ref{}, mustAuth(t, "identity", identity), false)
	if !errors.Is(err, ErrUntrustedHost) || !strings.Contains(err.Error(), `"known_hosts"`) {
		t.Errorf("no known_hosts: error %v, want %v naming known_hosts", err, ErrUntrustedHost)
	}
	// A key the server does not know.
	otherIdentity, _ := sshIdentity(t)
	_, err = f.Resolve(ctx, repo.SSHURL, Ref{}, mustAuth(t, "identity", otherIdentity, "known_hosts", srv.KnownHosts()), false)
	t.Log(err)
	assertAuthError(t, err, "ssh://git@127.0.0.1", "branch 'master'", "PRIVATE KEY")
}

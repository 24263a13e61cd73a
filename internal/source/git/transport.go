package git

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// remote is one repository as the fetcher contacts it: the URL after
// rewriting, and credentials in go-git's terms.
type remote struct {
	url      string // as given by the caller
	fetchURL string // after Options.Rewrite; every network call uses it
	ref      Ref

	auth       transport.AuthMethod // nil for anonymous access
	caBundle   []byte
	clientCert []byte
	clientKey  []byte
	secrets    []string
	authKey    string // Auth.Fingerprint
}

// newRemote rewrites rawURL and turns a into go-git credentials for the
// rewritten URL's protocol. Only https, http and ssh are fetched: file://
// would read the controller's own disk, and git:// is unauthenticated.
func (f *Fetcher) newRemote(op, rawURL string, ref Ref, a *Auth) (*remote, error) {
	r := &remote{url: rawURL, fetchURL: rawURL, ref: ref, secrets: a.secrets(), authKey: a.Fingerprint()}
	if f.opts.Rewrite != nil {
		r.fetchURL = f.opts.Rewrite(rawURL)
	}
	r.secrets = append(r.secrets, urlPasswords(rawURL, r.fetchURL)...)
	ep, err := transport.NewEndpoint(r.fetchURL)
	if err != nil {
		return nil, r.fail(op, ErrInvalid, fmt.Errorf("parse URL: %w", err))
	}
	switch ep.Protocol {
	case "https", "http":
		if a != nil {
			switch {
			case a.bearerToken != "":
				r.auth = &githttp.TokenAuth{Token: a.bearerToken}
			case a.username != "":
				r.auth = &githttp.BasicAuth{Username: a.username, Password: a.password}
			}
			r.caBundle, r.clientCert, r.clientKey = a.caBundle, a.clientCert, a.clientKey
		}
	case "ssh":
		auth, kind, err := newSSHAuth(ep, a, f.opts.Timeout)
		if err != nil {
			return nil, r.fail(op, kind, err)
		}
		r.auth = auth
	default:
		return nil, r.fail(op, ErrInvalid, fmt.Errorf("URL scheme %q is not supported; use https, http or ssh", ep.Protocol))
	}
	return r, nil
}

// urlPasswords returns the passwords written into URLs, to keep them out of
// messages even where a URL is quoted in an unusual form.
func urlPasswords(urls ...string) []string {
	var pws []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				pws = append(pws, pw)
			}
		}
	}
	return pws
}

// fail wraps a cause into an *Error naming r; kind nil means "classify
// the cause".
func (r *remote) fail(op string, kind, cause error) *Error {
	if kind == nil {
		kind = kindOf(cause)
	}
	e := &Error{Op: op, URL: displayURL(r.url), Ref: r.ref.String(), Kind: kind, Err: cause, secrets: r.secrets}
	if r.fetchURL != r.url {
		e.Via = displayURL(r.fetchURL)
	}
	return e
}

// sshAuth is go-git's SSH AuthMethod for a private key checked against a
// known_hosts, with the host key algorithms that known_hosts lists for the
// host (so that the server offers a key we can check) and a dial timeout
// (go-git dials SSH without the caller's context).
type sshAuth struct {
	user     string
	signer   ssh.Signer
	hostKeys *knownhosts.HostKeyDB
	hostPort string
	timeout  time.Duration
}

// newSSHAuth checks that a has what SSH needs. Without known_hosts there is
// no way to tell the real server from an impostor, so Tether refuses to
// connect rather than trust any host key. Errors come with their kind.
func newSSHAuth(ep *transport.Endpoint, a *Auth, timeout time.Duration) (*sshAuth, error, error) {
	if a == nil || a.signer == nil {
		return nil, ErrInvalid, fmt.Errorf("an SSH URL needs a private key in the secret's %q", KeyIdentity)
	}
	if a.hostKeys == nil {
		return nil, ErrUntrustedHost, fmt.Errorf("an SSH URL needs the server's host keys in the secret's %q; Tether trusts no unknown host", KeyKnownHosts)
	}
	user := a.username
	if user == "" {
		user = ep.User
	}
	if user == "" {
		user = "git"
	}
	port := ep.Port
	if port <= 0 {
		port = 22
	}
	return &sshAuth{
		user:     user,
		signer:   a.signer,
		hostKeys: a.hostKeys,
		hostPort: net.JoinHostPort(ep.Host, strconv.Itoa(port)),
		timeout:  timeout,
	}, nil, nil
}

// Name names the method for go-git.
func (s *sshAuth) Name() string { return "ssh-public-keys" }

// String describes the method without the key.
func (s *sshAuth) String() string { return "user: " + s.user + ", name: " + s.Name() }

// ClientConfig configures the SSH connection.
func (s *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              s.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(s.signer)},
		HostKeyCallback:   s.hostKeys.HostKeyCallback(),
		HostKeyAlgorithms: s.hostKeys.HostKeyAlgorithms(s.hostPort),
		Timeout:           s.timeout,
	}, nil
}

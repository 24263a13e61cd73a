package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

func TestDisplayURL(t *testing.T) {
	tests := map[string]string{
		"https://user:pass@github.com/org/repo":   "https://github.com/org/repo",
		"https://token@github.com/org/repo.git":   "https://github.com/org/repo.git",
		"ssh://git@github.com/org/repo":           "ssh://git@github.com/org/repo",
		"ssh://git:pw@github.com/org/repo":        "ssh://github.com/org/repo",
		"git@github.com:org/repo.git":             "git@github.com:org/repo.git",
		"git:pw@github.com:org/repo.git":          "github.com:org/repo.git",
		"http://127.0.0.1:8080/app.git":           "http://127.0.0.1:8080/app.git",
		"not a url with https://u:p@host/x in it": "not a url with https://host/x in it",
	}
	for in, want := range tests {
		if got := displayURL(in); got != want {
			t.Errorf("displayURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	cause := errors.New(`Get "https://u:hunter22@mirror/x": server said hunter22`)
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "resolve", URL: "https://github.com/o/r", Ref: "branch 'nope'", Kind: ErrRefNotFound},
			"branch 'nope' not found in https://github.com/o/r"},
		{&Error{Op: "resolve", URL: "https://github.com/o/r", Via: "http://127.0.0.1/r.git", Ref: "tag 'v1'", Kind: ErrRefNotFound},
			"tag 'v1' not found in https://github.com/o/r (via http://127.0.0.1/r.git)"},
		{&Error{Op: "resolve", URL: "https://h/r", Ref: "semver range '>=2'", Kind: ErrNoMatchingTag},
			"no tag in https://h/r matches semver range '>=2'"},
		{&Error{Op: "resolve", URL: "https://h/r", Ref: "branch 'main'", Kind: ErrAuthentication, Err: cause, secrets: []string{"hunter22"}},
			`authentication to https://h/r failed (branch 'main'); check the credentials in the Secret: Get "https://mirror/x": server said ***`},
		{&Error{Op: "checkout", URL: "https://h/r", Ref: "branch 'main'", Kind: ErrUnreachable, Err: errors.New("connection refused")},
			"cannot reach https://h/r (branch 'main'): connection refused"},
		{&Error{Op: "resolve", URL: "https://h/r", Ref: "branch 'main'", Kind: ErrAuthentication, Err: errors.New("authentication required: authentication required")},
			"authentication to https://h/r failed (branch 'main'); check the credentials in the Secret: authentication required"},
		{&Error{Op: "checkout", URL: "https://h/r", Ref: "commit 'abc'", Err: errors.New("disk full")},
			"checkout commit 'abc' of https://h/r: disk full"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
	e := &Error{Kind: ErrAuthentication, Err: transport.ErrAuthorizationFailed}
	if !errors.Is(e, ErrAuthentication) || !errors.Is(e, transport.ErrAuthorizationFailed) {
		t.Error("errors.Is must see both the kind and the cause")
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		secrets []string
		want    string
	}{
		{"URL user information", "Get https://user:pw@h/r: denied", nil, "Get https://h/r: denied"},
		{"an SSH user name stays", "ssh://git@h/r: denied", nil, "ssh://git@h/r: denied"},
		{"an SSH password goes", "ssh://git:pw@h/r: denied", nil, "ssh://h/r: denied"},
		{"secrets", "token tok-1234 refused", []string{"tok-1234"}, "token *** refused"},
		{"secrets shorter than four bytes stay", "abc refused", []string{"abc", ""}, "abc refused"},
		{"a secret containing another is masked whole", "pw pw-long", []string{"pw-l", "pw-long"}, "pw ***"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scrub(tc.msg, tc.secrets); got != tc.want {
				t.Errorf("scrub(%q) = %q, want %q", tc.msg, got, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{fmt.Errorf("%w: denied", transport.ErrAuthenticationRequired), ErrAuthentication},
		{plumbing.NewUnexpectedError(fmt.Errorf("%w: no", transport.ErrAuthorizationFailed)), ErrAuthentication},
		{errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey]"), ErrAuthentication},
		{errors.New("ssh: handshake failed: knownhosts: key is unknown"), ErrUntrustedHost},
		{fmt.Errorf("%w: gone", transport.ErrRepositoryNotFound), ErrRepositoryNotFound},
		{plumbing.NewUnexpectedError(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), ErrUnreachable},
		{&net.DNSError{Err: "no such host", Name: "nowhere.invalid"}, ErrUnreachable},
		{timeoutError{err: errors.New("read: i/o")}, ErrUnreachable},
		{context.Canceled, nil},
		{errors.New("something else"), nil},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

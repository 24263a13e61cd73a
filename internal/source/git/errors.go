package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/skeema/knownhosts"

	"github.com/tether-gitops/tether/internal/redact"
)

// The kinds of failure a caller may want to tell apart, for a condition
// reason or a retry policy. Test them with errors.Is on any error returned
// by Resolve or Checkout.
var (
	// ErrAuthentication means the server refused the credentials, or asked
	// for credentials that were not given.
	ErrAuthentication = errors.New("authentication failed")
	// ErrRefNotFound means the branch, tag or ref does not exist on the
	// remote.
	ErrRefNotFound = errors.New("reference not found")
	// ErrNoMatchingTag means no tag satisfies the semver range.
	ErrNoMatchingTag = errors.New("no tag matches the semver range")
	// ErrCommitNotFound means the commit is not in the fetched history.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrRepositoryNotFound means the server has no such repository (some
	// servers also say so to clients without access).
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrUnreachable means the server could not be reached in time: refused
	// connections, unknown host names, timeouts.
	ErrUnreachable = errors.New("server unreachable")
	// ErrUntrustedHost means the SSH server's host key is not in the given
	// known_hosts, or no known_hosts was given.
	ErrUntrustedHost = errors.New("untrusted SSH host")
	// ErrInvalid means the request itself is wrong (a malformed commit
	// hash or semver range, a URL scheme Tether does not fetch, missing
	// credentials for SSH); retrying will not help.
	ErrInvalid = errors.New("invalid request")
	// ErrTooLarge means a commit holds more files or bytes than
	// Options.MaxFiles or Options.MaxBytes allow; nothing of it is kept.
	ErrTooLarge = errors.New("checkout over its limits")
)

// Error describes a failed Resolve or Checkout. Its message names the URL
// the user wrote, the URL actually contacted when a rewrite applied, and the
// reference; it never contains credentials.
type Error struct {
	// Op is "resolve" or "checkout".
	Op string
	// URL is the repository URL as given, without user information.
	URL string
	// Via is the rewritten URL that was contacted, without user
	// information, or "" when no rewrite applied.
	Via string
	// Ref describes the reference, such as "branch 'main'".
	Ref string
	// Kind is one of the Err* values of this package, or nil.
	Kind error
	// Err is the underlying cause, or nil.
	Err error

	secrets []string
}

// Error returns the message, with every known secret and URL user
// information removed.
func (e *Error) Error() string {
	where := e.URL
	if e.Via != "" {
		where += " (via " + e.Via + ")"
	}
	var msg string
	switch e.Kind {
	case ErrRefNotFound:
		msg = fmt.Sprintf("%s not found in %s", e.Ref, where)
	case ErrNoMatchingTag:
		msg = fmt.Sprintf("no tag in %s matches %s", where, e.Ref)
	case ErrAuthentication:
		msg = fmt.Sprintf("authentication to %s failed (%s); check the credentials in the Secret", where, e.Ref)
	case ErrRepositoryNotFound:
		msg = fmt.Sprintf("repository %s not found, or the credentials give no access to it (%s)", where, e.Ref)
	case ErrUnreachable:
		msg = fmt.Sprintf("cannot reach %s (%s)", where, e.Ref)
	case ErrUntrustedHost:
		msg = fmt.Sprintf("the SSH server of %s is not trusted (%s); check the secret's known_hosts", where, e.Ref)
	default:
		msg = fmt.Sprintf("%s %s of %s", e.Op, e.Ref, where)
	}
	if e.Err != nil {
		// go-git ends some messages with ": <server text>", often empty or
		// a repeat of the message ("authentication required: authentication
		// required").
		cause := strings.TrimSuffix(strings.TrimSpace(e.Err.Error()), ":")
		if head, tail, ok := strings.Cut(cause, ": "); ok && head == tail {
			cause = head
		}
		msg += ": " + cause
	}
	return scrub(msg, e.secrets)
}

// Unwrap returns the kind and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// timeoutError is a network call that ran out of time; it is
// context.DeadlineExceeded for errors.Is, whatever go-git made of it.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e timeoutError) Error() string {
	return fmt.Sprintf("no answer within %s: %v", e.after, e.err)
}

func (e timeoutError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }

// userinfo matches the user information of URLs inside free text.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@\s]*)@`)

// minSecret is the shortest credential masked: replacing shorter ones
// would garble the message while hiding next to nothing.
const minSecret = 4

// scrub removes URL user information and the given secrets (those of
// minSecret bytes or more) from msg.
func scrub(msg string, secrets []string) string {
	msg = userinfo.ReplaceAllStringFunc(msg, func(m string) string {
		sub := userinfo.FindStringSubmatch(m)
		if strings.EqualFold(sub[1], "ssh://") && !strings.Contains(sub[2], ":") {
			return m // an SSH user name such as "git" is no secret
		}
		return sub[1]
	})
	if len(secrets) == 0 {
		return msg
	}
	values := redact.Values{Min: minSecret}
	values.Add(secrets...)
	return values.String(msg)
}

// displayURL returns raw as the user wrote it, for messages, minus any
// secret: HTTP(S) URLs lose their user information (a user name there is
// often a token), SSH URLs and SCP-like addresses keep a user name (such
// as "git", which users look for) but never a password.
func displayURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		if _, hasPassword := u.User.Password(); u.Scheme != "ssh" || hasPassword {
			u.User = nil
		}
		return u.String()
	}
	if at := strings.Index(raw, "@"); at >= 0 && !strings.Contains(raw[:at], "/") {
		if strings.Contains(raw[:at], ":") {
			return raw[at+1:] // "user:password@host:path"
		}
		return raw
	}
	return scrub(raw, nil)
}

// classify returns the kind of a go-git or network error, or nil.
func classify(err error) error {
	var kind error
	walk(err, func(e error) bool {
		kind = classifyOne(e)
		return kind != nil
	})
	return kind
}

// classifyOne classifies one link of an error chain.
func classifyOne(e error) error {
	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
	)
	msg := e.Error()
	switch {
	case errors.Is(e, transport.ErrAuthenticationRequired),
		errors.Is(e, transport.ErrAuthorizationFailed),
		errors.Is(e, transport.ErrInvalidAuthMethod),
		strings.Contains(msg, "ssh: unable to authenticate"):
		return ErrAuthentication
	case knownhosts.IsHostUnknown(e), knownhosts.IsHostKeyChanged(e),
		strings.Contains(msg, "knownhosts: key is unknown"),
		strings.Contains(msg, "knownhosts: key mismatch"):
		return ErrUntrustedHost
	case errors.Is(e, transport.ErrRepositoryNotFound):
		return ErrRepositoryNotFound
	case errors.Is(e, gogit.NoMatchingRefSpecError{}):
		return ErrRefNotFound
	case strings.Contains(msg, "not our ref"): // git upload-pack, asked for an unknown hash
		return ErrCommitNotFound
	case errors.Is(e, context.DeadlineExceeded),
		errors.Is(e, syscall.ECONNREFUSED),
		errors.Is(e, syscall.ECONNRESET),
		errors.Is(e, syscall.EHOSTUNREACH),
		errors.Is(e, syscall.ENETUNREACH),
		errors.As(e, &dnsErr), errors.As(e, &opErr):
		return ErrUnreachable
	}
	return nil
}

// walk calls fn on err and on every error it wraps, including go-git's
// wrappers that have no Unwrap method, until fn returns true.
func walk(err error, fn func(error) bool) bool {
	if err == nil {
		return false
	}
	if fn(err) {
		return true
	}
	switch e := err.(type) {
	case *plumbing.UnexpectedError:
		return walk(e.Err, fn)
	case *plumbing.PermanentError:
		return walk(e.Err, fn)
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if walk(inner, fn) {
				return true
			}
		}
		return false
	}
	return walk(errors.Unwrap(err), fn)
}

package oci

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tether-gitops/tether/internal/image/registry"
)

// Scheme starts every artifact URL.
const Scheme = "oci://"

// Errors of this package, matched with errors.Is.
var (
	// ErrAuthentication: the registry refused the credentials (or wanted
	// some).
	ErrAuthentication = errors.New("authentication failed")
	// ErrNotFound: the repository, tag, digest or layer does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the URL, reference or artifact cannot be used as given;
	// retrying does not help.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge: a manifest or layer is larger than allowed.
	ErrTooLarge = errors.New("too large")
)

// DefaultTimeout bounds one operation when Options.Timeout is zero.
const DefaultTimeout = time.Minute

// Options configure one registry operation.
type Options struct {
	// DockerConfigJSON is the data of a kubernetes.io/dockerconfigjson
	// Secret; the entry for the registry (as written, else the mirror's)
	// is used.
	DockerConfigJSON []byte
	// Username and Password are basic credentials, used when
	// DockerConfigJSON has none for the registry.
	Username, Password string
	// Token is a registry bearer token, used when neither of the above
	// applies.
	Token string
	// Keychain reads the user's Docker config (~/.docker/config.json)
	// when nothing above applies; only the command line sets it.
	Keychain bool
	// TLS, when set, is the TLS configuration of the registry connection
	// (certificate authorities, client certificate), for example from
	// connsecret.TLS.
	TLS *tls.Config
	// Insecure allows plain HTTP and unverified TLS to the registry.
	Insecure bool
	// Proxy, when set, is the HTTP proxy to reach the registry through
	// (with its credentials in the URL's user info); otherwise the
	// process's proxy environment applies.
	Proxy *url.URL
	// Timeout bounds the operation; DefaultTimeout when zero.
	Timeout time.Duration
	// MaxLayerSize bounds the compressed layer that OpenLayer reads, in
	// bytes; DefaultMaxLayerSize when zero.
	MaxLayerSize int64
}

// Client talks to registries. Its zero value works; Rewrite maps
// "oci://<registry>/<path>" URLs to a mirror, as Tether's --url-rewrite
// does for every other URL.
type Client struct {
	Rewrite func(string) string
}

// repo is a parsed repository: where to send requests and the name as
// written, for messages and credentials.
type repo struct {
	target  name.Repository
	written string // "<registry>/<path>" as written
}

func (r repo) display() string {
	if t := r.target.Name(); t != r.written {
		return fmt.Sprintf("%s%s (rewritten to %s%s)", Scheme, r.written, Scheme, t)
	}
	return Scheme + r.written
}

// ValidateURL checks an oci://<registry>/<path> URL (without tag or
// digest); its errors match ErrInvalid.
func ValidateURL(url string) error {
	_, err := (&Client{}).repository(url, Options{})
	return err
}

// repository parses an oci:// URL without tag or digest and applies the
// rewrite.
func (c *Client) repository(url string, opts Options) (repo, error) {
	if !strings.HasPrefix(url, Scheme) {
		return repo{}, fmt.Errorf("URL %q: %w: it must start with %s", url, ErrInvalid, Scheme)
	}
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	raw := strings.TrimSuffix(strings.TrimPrefix(url, Scheme), "/")
	written, err := name.NewRepository(raw, append(nopts, name.StrictValidation)...)
	if err != nil {
		return repo{}, fmt.Errorf("URL %q: %w: %w", url, ErrInvalid, err)
	}
	r := repo{target: written, written: raw}
	if c.Rewrite == nil {
		return r, nil
	}
	to := c.Rewrite(url)
	if to == url {
		return r, nil
	}
	target, err := name.NewRepository(strings.TrimSuffix(strings.TrimPrefix(to, Scheme), "/"), append(nopts, name.StrictValidation)...)
	if err != nil {
		return repo{}, fmt.Errorf("URL %q rewritten to %q: %w: %w", url, to, ErrInvalid, err)
	}
	r.target = target
	return r, nil
}

// remoteOptions are the context, transport and credentials of one
// operation.
func remoteOptions(ctx context.Context, r repo, opts Options) ([]remote.Option, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLS != nil {
		tlsCfg = opts.TLS.Clone()
	}
	if opts.Insecure {
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // spec.insecure
	}
	tr.TLSClientConfig = tlsCfg
	if opts.Proxy != nil {
		tr.Proxy = http.ProxyURL(opts.Proxy)
	}
	auth, err := authenticator(r, opts)
	if err != nil {
		return nil, err
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(tr), remote.WithAuth(auth)}, nil
}

// authenticator picks the credentials: the Docker config entry of the
// registry as written, else of the mirror, else the user name and
// password, else the token, else (command line) the user's own Docker
// config.
func authenticator(r repo, opts Options) (authn.Authenticator, error) {
	if len(opts.DockerConfigJSON) > 0 {
		cfg, err := registry.ParseDockerConfig(opts.DockerConfigJSON)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		host, _, _ := strings.Cut(r.written, "/")
		if a, ok := cfg.For(host); ok {
			return authn.FromConfig(a), nil
		}
		if a, ok := cfg.For(r.target.RegistryStr()); ok {
			return authn.FromConfig(a), nil
		}
	}
	if opts.Username != "" || opts.Password != "" {
		return &authn.Basic{Username: opts.Username, Password: opts.Password}, nil
	}
	if opts.Token != "" {
		return &authn.Bearer{Token: opts.Token}, nil
	}
	if opts.Keychain {
		a, err := authn.DefaultKeychain.Resolve(r.target)
		if err != nil {
			return nil, fmt.Errorf("read the Docker config: %w", err)
		}
		return a, nil
	}
	return authn.Anonymous, nil
}

// withTimeout bounds an operation by opts.Timeout.
func withTimeout(ctx context.Context, opts Options) (context.Context, context.CancelFunc) {
	d := opts.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// classify wraps a registry error with this package's sentinel errors, so
// callers can tell refused credentials and missing tags from the rest.
func classify(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrAuthentication, err)
		case terr.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%w: %w", ErrAuthentication, err)
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return fmt.Errorf("%w: %w", ErrNotFound, err)
			}
		}
	}
	return err
}

// Package registry reads image repositories' tags and digests with
// go-containerregistry, for Flux's ImageRepository and ImagePolicy and
// Argo CD Image Updater's annotations.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrInvalidImage marks an image name that does not parse.
var ErrInvalidImage = errors.New("invalid image name")

// Options configure one registry request.
type Options struct {
	// DockerConfigJSON is the data of a kubernetes.io/dockerconfigjson
	// Secret (".dockerconfigjson"); the entry for the image's registry
	// is used.
	DockerConfigJSON []byte
	// CAPEM adds certificate authorities to the system's.
	CAPEM []byte
	// Insecure allows plain HTTP (and unverified TLS) to the registry.
	Insecure bool
	// Timeout bounds the request; one minute when zero.
	Timeout time.Duration
}

// Scanner reads registries; Rewrite maps "oci://<registry>/<path>" to a
// mirror, as Tether's --url-rewrite does for every other URL.
type Scanner struct {
	Rewrite func(string) string
}

// Result is one scan of a repository.
type Result struct {
	// Canonical is the image's full name as written resolves
	// ("index.docker.io/stefanprodan/podinfo").
	Canonical string
	// Tags are every tag the registry lists.
	Tags []string
}

// Tags lists the tags of image (a repository, without tag or digest).
func (s *Scanner) Tags(ctx context.Context, image string, opts Options) (Result, error) {
	repo, canonical, err := s.repository(image, opts)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(opts))
	defer cancel()
	ropts, err := remoteOptions(ctx, canonical, repo, opts)
	if err != nil {
		return Result{}, err
	}
	tags, err := remote.List(repo, ropts...)
	if err != nil {
		return Result{}, fmt.Errorf("list tags of %s: %w", canonical, err)
	}
	return Result{Canonical: canonical, Tags: tags}, nil
}

// Digest returns the digest ("sha256:...") that image:tag names.
func (s *Scanner) Digest(ctx context.Context, image, tag string, opts Options) (string, error) {
	repo, canonical, err := s.repository(image, opts)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(opts))
	defer cancel()
	ropts, err := remoteOptions(ctx, canonical, repo, opts)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(repo.Tag(tag), ropts...)
	if err != nil {
		return "", fmt.Errorf("read the digest of %s:%s: %w", canonical, tag, err)
	}
	return desc.Digest.String(), nil
}

// Created returns when image:tag was built (its config's created time),
// for the newest-build strategy.
func (s *Scanner) Created(ctx context.Context, image, tag string, opts Options) (time.Time, error) {
	repo, canonical, err := s.repository(image, opts)
	if err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(opts))
	defer cancel()
	ropts, err := remoteOptions(ctx, canonical, repo, opts)
	if err != nil {
		return time.Time{}, err
	}
	img, err := remote.Image(repo.Tag(tag), ropts...)
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s:%s: %w", canonical, tag, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return time.Time{}, fmt.Errorf("read the config of %s:%s: %w", canonical, tag, err)
	}
	return cfg.Created.Time, nil
}

// repository parses image, applies the rewrite and returns the repository
// to contact and the canonical name as written.
func (s *Scanner) repository(image string, opts Options) (name.Repository, string, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	written, err := name.NewRepository(image, nopts...)
	if err != nil {
		return name.Repository{}, "", fmt.Errorf("spec.image %q: %w: %w", image, ErrInvalidImage, err)
	}
	canonical := written.Name()
	target := canonical
	if s.Rewrite != nil {
		for _, candidate := range []string{canonical, strings.Replace(canonical, name.DefaultRegistry+"/", "docker.io/", 1)} {
			if to := s.Rewrite("oci://" + candidate); to != "oci://"+candidate {
				target = strings.TrimPrefix(to, "oci://")
				break
			}
		}
	}
	if target == canonical {
		return written, canonical, nil
	}
	repo, err := name.NewRepository(target, append(nopts, name.StrictValidation)...)
	if err != nil {
		return name.Repository{}, "", fmt.Errorf("spec.image %q rewritten to %q: %w", image, target, err)
	}
	return repo, canonical, nil
}

// timeoutOf is the request's deadline.
func timeoutOf(opts Options) time.Duration {
	if opts.Timeout <= 0 {
		return time.Minute
	}
	return opts.Timeout
}

// remoteOptions are the request's context, transport and credentials:
// the credentials of the registry as written, else of the mirror.
func remoteOptions(ctx context.Context, canonical string, repo name.Repository, opts Options) ([]remote.Option, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil                                                                         // the registry is reached directly, as configured
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Insecure} //nolint:gosec // spec.insecure
	if len(opts.CAPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(opts.CAPEM) {
			return nil, errors.New("certSecretRef: no certificate found in ca.crt")
		}
		tlsCfg.RootCAs = pool
	}
	tr.TLSClientConfig = tlsCfg
	auth := authn.Anonymous
	if len(opts.DockerConfigJSON) > 0 {
		host := strings.SplitN(canonical, "/", 2)[0]
		cfg, err := ParseDockerConfig(opts.DockerConfigJSON)
		if err != nil {
			return nil, err
		}
		if a, ok := cfg.For(host); ok {
			auth = authn.FromConfig(a)
		} else if a, ok := cfg.For(repo.RegistryStr()); ok {
			auth = authn.FromConfig(a)
		}
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(tr), remote.WithAuth(auth)}, nil
}

// DockerConfig is a parsed .dockerconfigjson.
type DockerConfig struct {
	Auths map[string]authn.AuthConfig `json:"auths"`
}

// ParseDockerConfig reads a .dockerconfigjson; an entry's "auth" is
// base64 "user:password", as docker writes it. Errors never quote the
// data.
func ParseDockerConfig(data []byte) (*DockerConfig, error) {
	var cfg DockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, errors.New("secretRef: .dockerconfigjson is not valid JSON")
	}
	for host, a := range cfg.Auths {
		if a.Auth != "" && a.Username == "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("secretRef: .dockerconfigjson entry %q: auth is not base64", host)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("secretRef: .dockerconfigjson entry %q: auth is not user:password", host)
			}
			a.Username, a.Password, a.Auth = user, pass, ""
			cfg.Auths[host] = a
		}
	}
	return &cfg, nil
}

// For returns the credentials for registry host; Docker Hub answers to
// its several names, and entries may be written as URLs.
func (c *DockerConfig) For(host string) (authn.AuthConfig, bool) {
	names := []string{host}
	if host == name.DefaultRegistry || host == "docker.io" {
		names = []string{"index.docker.io", "docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"}
	}
	for key, a := range c.Auths {
		k := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://"), "/")
		k, _, _ = strings.Cut(k, "/")
		for _, n := range names {
			if key == n || k == strings.TrimSuffix(strings.TrimPrefix(n, "https://"), "/v1/") {
				return a, true
			}
		}
	}
	return authn.AuthConfig{}, false
}

package helm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v4/pkg/registry"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// OCIChart is a chart pulled from an OCI registry.
type OCIChart struct {
	// Data is the chart archive.
	Data []byte
	// Version is the tag pulled.
	Version string
	// Digest is the manifest digest ("sha256:...").
	Digest string
}

// IsOCI reports whether u names an OCI registry ("oci://...").
func IsOCI(u string) bool { return strings.HasPrefix(u, registry.OCIScheme+"://") }

// ociRef turns repoURL/name into a registry reference (after the
// rewrite) and the text that names it in messages.
func (c *Client) ociRef(repoURL, name string) (ref, where string, err error) {
	written := strings.TrimSuffix(repoURL, "/")
	if name != "" {
		written += "/" + name
	}
	target := c.rewrite(written)
	if !IsOCI(target) {
		return "", "", fmt.Errorf("%w: '%s' is not an oci:// URL", ErrInvalid, target)
	}
	where = written
	if target != written {
		where = fmt.Sprintf("%s (via %s)", written, redact(target))
	}
	return strings.TrimPrefix(target, registry.OCIScheme+"://"), where, nil
}

// ResolveOCI returns the tag of repoURL/name ("oci://host/path" and
// "podinfo") that version asks for: version itself when it is exact,
// else the newest tag the semver range allows.
func (c *Client) ResolveOCI(ctx context.Context, repoURL, name, version string, auth *Auth) (string, error) {
	if _, err := exactVersion(version); err == nil {
		return version, nil
	}
	ref, where, err := c.ociRef(repoURL, name)
	if err != nil {
		return "", err
	}
	rc, err := registryClient(ctx, auth)
	if err != nil {
		return "", err
	}
	tags, err := rc.Tags(ref)
	if err != nil {
		return "", fmt.Errorf("list tags of %s: %w", where, ociError(err, auth))
	}
	tag, err := SelectVersion(tags, version)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", where, err)
	}
	return tag, nil
}

// PullOCI pulls the chart repoURL/name:tag. Registry credentials come
// only from auth: the process's own Docker or Helm credential files are
// never used.
func (c *Client) PullOCI(ctx context.Context, repoURL, name, tag string, auth *Auth) (*OCIChart, error) {
	ref, where, err := c.ociRef(repoURL, name)
	if err != nil {
		return nil, err
	}
	rc, err := registryClient(ctx, auth)
	if err != nil {
		return nil, err
	}
	limit := c.limit(c.MaxChartSize, DefaultMaxChartSize)
	if err := checkOCISize(ctx, ref, strings.ReplaceAll(tag, "+", "_"), auth, limit); err != nil {
		return nil, fmt.Errorf("pull %s:%s: %w", where, tag, err)
	}
	res, err := rc.Pull(ref + ":" + strings.ReplaceAll(tag, "+", "_"))
	if err != nil {
		return nil, fmt.Errorf("pull %s:%s: %w", where, tag, ociError(err, auth))
	}
	if int64(len(res.Chart.Data)) > c.limit(c.MaxChartSize, DefaultMaxChartSize) {
		return nil, fmt.Errorf("pull %s:%s: chart larger than %d bytes", where, tag, c.limit(c.MaxChartSize, DefaultMaxChartSize))
	}
	return &OCIChart{Data: res.Chart.Data, Version: tag, Digest: res.Manifest.Digest}, nil
}

// checkOCISize reads the manifest of ref:tag and refuses an artifact
// whose layers add up to more than limit bytes, before Helm's client
// pulls them into memory.
func checkOCISize(ctx context.Context, ref, tag string, a *Auth, limit int64) error {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	repo.Client = authClient(ctx, a)
	repo.PlainHTTP = a != nil && a.PlainHTTP
	_, rc, err := repo.FetchReference(ctx, tag)
	if err != nil {
		return ociError(err, a)
	}
	defer rc.Close()
	var m ocispec.Manifest
	if err := json.NewDecoder(io.LimitReader(rc, 4<<20)).Decode(&m); err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	var total int64
	for _, l := range m.Layers {
		total += l.Size
	}
	if total > limit {
		return fmt.Errorf("chart of %d bytes is larger than %d bytes, the limit", total, limit)
	}
	return nil
}

// registryClient returns Helm's registry client with credentials only
// from auth, bounded by ctx's deadline.
func registryClient(ctx context.Context, a *Auth) (*registry.Client, error) {
	ac := authClient(ctx, a)
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(ac.Client),
		registry.ClientOptAuthorizer(*ac),
		// A credentials file that never exists: Helm would otherwise read
		// the process's own ~/.config/helm and ~/.docker credentials.
		registry.ClientOptCredentialsFile(filepath.Join(os.TempDir(), "tether-no-registry-credentials.json")),
	}
	if a != nil && a.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return rc, nil
}

// authClient is an ORAS client with credentials only from a, bounded by
// ctx's deadline.
func authClient(ctx context.Context, a *Auth) *auth.Client {
	hc := httpClient(a)
	if dl, ok := ctx.Deadline(); ok {
		hc.Timeout = max(time.Until(dl), time.Millisecond)
	}
	cred := auth.EmptyCredential
	if a != nil && a.Username != "" {
		cred = auth.Credential{Username: a.Username, Password: a.Password}
	}
	return &auth.Client{Client: hc, Cache: auth.NewCache(),
		Credential: func(context.Context, string) (auth.Credential, error) { return cred, nil }}
}

func ociError(err error, a *Auth) error {
	switch {
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Errorf("%w: the registry asks for credentials and none are configured", ErrAuthentication)
	case errors.Is(err, errdef.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, scrub(err, a))
	}
	var ec *errcode.ErrorResponse
	if errors.As(err, &ec) {
		switch ec.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w: %s", ErrAuthentication, http.StatusText(ec.StatusCode))
		case http.StatusNotFound:
			return fmt.Errorf("%w: %s", ErrNotFound, scrub(err, a))
		}
	}
	return scrub(err, a)
}

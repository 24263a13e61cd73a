package chartserve

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/registry"
)

// chartsRepository is the path under the registry's host that charts are
// pushed to: <host>/charts/<name>:<version>.
const chartsRepository = "charts"

// RegistryOptions configure NewRegistry.
type RegistryOptions struct {
	// Dir holds the CA certificate (with TLS) and the credentials file of
	// the Helm registry clients that Client makes. Empty means a temporary
	// folder that Close removes. The registry keeps its content in memory.
	Dir string
	// Addr is the address to listen on; empty means a free port on
	// 127.0.0.1.
	Addr string
	// Username, when not empty, makes every request need these basic-auth
	// credentials; others get 401 with a Basic challenge, which Helm's
	// registry client answers with the credentials it was given.
	Username, Password string
	// TLS serves HTTPS with a certificate of a CA made in-process (see
	// CAPEM and CAFile); without it the registry is plain HTTP.
	TLS bool
	// Logf, when set, receives the registry's log (one line per request)
	// and net/http's messages, one line per call.
	Logf func(format string, args ...any)
}

// Registry is an OCI registry (go-containerregistry's, in memory) that
// charts are pushed to with Helm's registry client.
type Registry struct {
	dir                string
	removeDir          bool
	username, password string
	certs              *certs // nil: plain HTTP
	caFile             string
	srv                *server
}

// NewRegistry starts an OCI registry in the background; Close stops it.
func NewRegistry(opts RegistryOptions) (*Registry, error) {
	g := &Registry{dir: opts.Dir, username: opts.Username, password: opts.Password}
	if g.dir == "" {
		dir, err := os.MkdirTemp("", "chartserve-registry-*")
		if err != nil {
			return nil, fmt.Errorf("OCI registry: %w", err)
		}
		g.dir, g.removeDir = dir, true
	} else if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("OCI registry: %w", err)
	}
	if err := g.start(opts); err != nil {
		if g.removeDir {
			_ = os.RemoveAll(g.dir)
		}
		return nil, fmt.Errorf("OCI registry: %w", err)
	}
	return g, nil
}

func (g *Registry) start(opts RegistryOptions) error {
	logs := logWriter{opts.Logf}
	handler := ggcrregistry.New(
		ggcrregistry.Logger(log.New(logs, "registry: ", 0)),
		ggcrregistry.WithReferrersSupport(true),
	)
	srvOpts := serverOptions{addr: opts.Addr, username: opts.Username, password: opts.Password, logf: opts.Logf}
	if opts.TLS {
		var err error
		if g.certs, err = newCerts(); err != nil {
			return err
		}
		if g.caFile, err = g.certs.writeCA(g.dir); err != nil {
			return err
		}
		srvOpts.tls = g.certs.serverConfig()
	}
	var err error
	g.srv, err = startServer(handler, srvOpts)
	return err
}

// URL is where charts are pushed: "oci://127.0.0.1:PORT/charts". A chart
// named podinfo is URL() + "/podinfo", its versions are tags.
func (g *Registry) URL() string { return "oci://" + g.srv.host + "/" + chartsRepository }

// Host is the registry's "127.0.0.1:PORT".
func (g *Registry) Host() string { return g.srv.host }

// CAPEM is the PEM certificate of the CA that signed the server's
// certificate, or nil without TLS.
func (g *Registry) CAPEM() []byte { return g.certs.pem() }

// CAFile is the path of a file holding CAPEM (for `helm --ca-file`), or
// "" without TLS.
func (g *Registry) CAFile() string { return g.caFile }

// HTTPClient is an HTTP client that trusts the registry's CA.
func (g *Registry) HTTPClient() *http.Client { return httpClient(g.certs) }

// Client is a Helm registry client for this registry: plain HTTP or the
// registry's CA, its credentials (when it has some), and a credentials
// file of its own in Dir, so the user's Helm and Docker logins play no
// part. Every request it makes ends when ctx ends.
func (g *Registry) Client(ctx context.Context) (*registry.Client, error) {
	httpc := httpClient(g.certs)
	httpc.Transport = contextTransport{ctx: ctx, base: httpc.Transport}
	opts := []registry.ClientOption{
		registry.ClientOptCredentialsFile(filepath.Join(g.dir, "registry-config.json")),
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptHTTPClient(httpc),
	}
	if g.certs == nil {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	if g.username != "" {
		opts = append(opts, registry.ClientOptBasicAuth(g.username, g.password))
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("helm registry client: %w", err)
	}
	return client, nil
}

// PushChart packages the chart folder chartDir with its version set to
// version (empty: Chart.yaml's) and pushes it: see Push.
func (g *Registry) PushChart(ctx context.Context, chartDir, version string) (ref, digest string, err error) {
	a, err := PackageDir(chartDir, version)
	if err != nil {
		return "", "", fmt.Errorf("push: %w", err)
	}
	return g.Push(ctx, a)
}

// Push pushes the archive with Helm's registry client to URL() +
// "/<name>:<version>" and returns that reference (with its oci:// scheme)
// and the digest of the manifest ("sha256:...").
func (g *Registry) Push(ctx context.Context, a Archive) (ref, digest string, err error) {
	client, err := g.Client(ctx)
	if err != nil {
		return "", "", fmt.Errorf("push %s %s: %w", a.Name, a.Version, err)
	}
	ref = fmt.Sprintf("%s/%s:%s", g.URL(), a.Name, a.Version)
	result, err := client.Push(a.Data, ref)
	if err != nil {
		return "", "", fmt.Errorf("push %s: %w", ref, err)
	}
	return ref, result.Manifest.Digest, nil
}

// Requests is how many requests for path (like
// "/v2/charts/podinfo/manifests/6.0.0") arrived since the start or
// ResetRequests, with or without valid credentials.
func (g *Registry) Requests(path string) int { return g.srv.requestCount(path) }

// ResetRequests sets every request count to zero.
func (g *Registry) ResetRequests() { g.srv.resetRequests() }

// Close stops the server (requests in flight get up to 10 seconds) and
// removes Dir when NewRegistry made it. It is idempotent.
func (g *Registry) Close() error {
	g.srv.stop()
	if g.removeDir {
		if err := os.RemoveAll(g.dir); err != nil {
			return fmt.Errorf("OCI registry: %w", err)
		}
	}
	return nil
}

package chartserve

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// indexFile is the name of the repository's index, in Dir and in URLs.
const indexFile = "index.yaml"

// RepoOptions configure NewRepo.
type RepoOptions struct {
	// Dir holds index.yaml and the archives; it is created when missing,
	// and an index.yaml already there is served on. Empty means a
	// temporary folder that Close removes.
	Dir string
	// Addr is the address to listen on; empty means a free port on
	// 127.0.0.1.
	Addr string
	// Username, when not empty, makes every request need these basic-auth
	// credentials; others get 401.
	Username, Password string
	// TLS serves HTTPS with a certificate of a CA made in-process (see
	// CAPEM and CAFile).
	TLS bool
	// AbsoluteURLs makes index.yaml list every archive by its full URL
	// instead of by its file name (relative to the repository's URL).
	AbsoluteURLs bool
	// Logf, when set, receives net/http's messages, one line per call.
	Logf func(format string, args ...any)
}

// Repo is a Helm chart repository served over HTTP(S): GET /index.yaml and
// GET /<name>-<version>.tgz.
type Repo struct {
	dir          string
	removeDir    bool
	absoluteURLs bool
	certs        *certs // nil: plain HTTP
	caFile       string
	srv          *server

	mu    sync.Mutex // guards index and the files in dir
	index *repo.IndexFile
}

// NewRepo starts a chart repository in the background; Close stops it.
// It serves an empty index until charts are published.
func NewRepo(opts RepoOptions) (*Repo, error) {
	r := &Repo{dir: opts.Dir, absoluteURLs: opts.AbsoluteURLs}
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "chartserve-repo-*")
		if err != nil {
			return nil, fmt.Errorf("chart repository: %w", err)
		}
		r.dir, r.removeDir = dir, true
	} else if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart repository: %w", err)
	}
	if err := r.start(opts); err != nil {
		if r.removeDir {
			_ = os.RemoveAll(r.dir)
		}
		return nil, fmt.Errorf("chart repository: %w", err)
	}
	return r, nil
}

func (r *Repo) start(opts RepoOptions) error {
	index, err := repo.LoadIndexFile(filepath.Join(r.dir, indexFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		index = repo.NewIndexFile()
	case err != nil:
		return err
	}
	r.index = index
	if err := r.writeIndex(); err != nil {
		return err
	}
	srvOpts := serverOptions{addr: opts.Addr, username: opts.Username, password: opts.Password, logf: opts.Logf}
	if opts.TLS {
		if r.certs, err = newCerts(); err != nil {
			return err
		}
		if r.caFile, err = r.certs.writeCA(r.dir); err != nil {
			return err
		}
		srvOpts.tls = r.certs.serverConfig()
	}
	r.srv, err = startServer(http.HandlerFunc(r.serveFile), srvOpts)
	return err
}

// URL is the repository's URL, "http(s)://127.0.0.1:PORT", without a
// trailing slash: the index is at URL() + "/index.yaml".
func (r *Repo) URL() string { return r.srv.url }

// Dir is the folder that holds index.yaml and the archives.
func (r *Repo) Dir() string { return r.dir }

// CAPEM is the PEM certificate of the CA that signed the server's
// certificate, or nil without TLS.
func (r *Repo) CAPEM() []byte { return r.certs.pem() }

// CAFile is the path of a file holding CAPEM (for `helm --ca-file`), or
// "" without TLS.
func (r *Repo) CAFile() string { return r.caFile }

// HTTPClient is an HTTP client that trusts the repository's CA.
func (r *Repo) HTTPClient() *http.Client { return httpClient(r.certs) }

// Publish packages the chart folder chartDir with its version set to
// version (empty: Chart.yaml's) and publishes it: see PublishArchive.
func (r *Repo) Publish(chartDir, version string) (Archive, error) {
	a, err := PackageDir(chartDir, version)
	if err != nil {
		return Archive{}, fmt.Errorf("publish: %w", err)
	}
	if err := r.PublishArchive(a); err != nil {
		return Archive{}, err
	}
	return a, nil
}

// PublishArchive writes the archive and adds it to index.yaml, replacing
// an entry of the same name and version. index.yaml is replaced whole
// (write and rename), so a request that starts after PublishArchive
// returns sees the new version, and none sees a version before its archive.
func (r *Repo) PublishArchive(a Archive) error {
	if a.Filename != filepath.Base(a.Filename) || !strings.HasSuffix(a.Filename, ".tgz") {
		return fmt.Errorf("publish %s %s: invalid archive file name %q", a.Name, a.Version, a.Filename)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := writeFileAtomic(filepath.Join(r.dir, a.Filename), a.Data); err != nil {
		return fmt.Errorf("publish %s %s: %w", a.Name, a.Version, err)
	}
	r.removeEntry(a.Name, a.Version)
	baseURL := ""
	if r.absoluteURLs {
		baseURL = r.srv.url
	}
	md := a.Metadata // MustAdd may fill in the apiVersion
	if err := r.index.MustAdd(&md, a.Filename, baseURL, a.Digest); err != nil {
		return fmt.Errorf("publish %s %s: %w", a.Name, a.Version, err)
	}
	if err := r.writeIndex(); err != nil {
		return fmt.Errorf("publish %s %s: %w", a.Name, a.Version, err)
	}
	return nil
}

// Remove takes name's version out of index.yaml, then deletes its archive.
func (r *Repo) Remove(name, version string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cv, err := r.index.Get(name, version)
	if err != nil || cv.Version != version {
		return fmt.Errorf("remove %s %s: not in the index", name, version)
	}
	r.removeEntry(name, version)
	if err := r.writeIndex(); err != nil {
		return fmt.Errorf("remove %s %s: %w", name, version, err)
	}
	err = os.Remove(filepath.Join(r.dir, fmt.Sprintf("%s-%s.tgz", name, version)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s %s: %w", name, version, err)
	}
	return nil
}

// Requests is how many requests for path (like "/index.yaml" or
// "/podinfo-6.0.0.tgz") arrived since the start or ResetRequests, with or
// without valid credentials.
func (r *Repo) Requests(path string) int { return r.srv.requestCount(path) }

// ResetRequests sets every request count to zero.
func (r *Repo) ResetRequests() { r.srv.resetRequests() }

// Close stops the server (requests in flight get up to 10 seconds) and
// removes Dir when NewRepo made it. It is idempotent.
func (r *Repo) Close() error {
	r.srv.stop()
	if r.removeDir {
		if err := os.RemoveAll(r.dir); err != nil {
			return fmt.Errorf("chart repository: %w", err)
		}
	}
	return nil
}

// removeEntry drops name's version from the index. r.mu must be held.
func (r *Repo) removeEntry(name, version string) {
	versions := r.index.Entries[name]
	kept := versions[:0]
	for _, cv := range versions {
		if cv.Version != version {
			kept = append(kept, cv)
		}
	}
	if len(kept) == 0 {
		delete(r.index.Entries, name)
		return
	}
	r.index.Entries[name] = kept
}

// writeIndex writes the index to Dir/index.yaml through a rename. r.mu
// must be held, or r not yet shared.
func (r *Repo) writeIndex() error {
	r.index.SortEntries()
	r.index.Generated = time.Now()
	if err := r.index.WriteFile(filepath.Join(r.dir, indexFile), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", indexFile, err)
	}
	return nil
}

// serveFile answers GET and HEAD of /index.yaml and of /<file>.tgz with
// the file's current content. It sends no Last-Modified, so that a client
// cannot be told "not modified" about an index rewritten within a second.
func (r *Repo) serveFile(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(req.URL.Path, "/")
	contentType := "application/gzip"
	switch {
	case name == indexFile:
		contentType = "application/x-yaml"
	case strings.HasSuffix(name, ".tgz") && !strings.ContainsAny(name, `/\`) && !strings.HasPrefix(name, "."):
	default:
		http.NotFound(w, req)
		return
	}
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, req)
		return
	}
	if err != nil {
		http.Error(w, "cannot read "+name, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it to path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

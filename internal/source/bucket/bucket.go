// Package bucket reads the objects of an S3-compatible bucket (Flux's
// Bucket source, generic provider) with minio-go: it lists them into an
// Index of object names and ETags, whose digest is the revision Flux
// gives a Bucket, and downloads the indexed objects into a folder.
//
//	c, err := bucket.New(bucket.Options{Endpoint: "s3.example.com", AccessKey: ak, SecretKey: sk})
//	idx, err := c.Index(ctx, "manifests", "", specIgnore)
//	revision := idx.Revision() // sha256:<hex>
//	idx, err = c.Download(ctx, "manifests", idx, dir)
//
// Every call honours its context; errors name the bucket, the endpoint and
// the object, never a key.
package bucket

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"golang.org/x/sync/errgroup"

	"github.com/tether-gitops/tether/internal/source/artifact"
)

// Defaults of Options' bounds.
const (
	DefaultMaxObjects       = 100_000
	DefaultMaxBytes   int64 = 1 << 30
	// downloads is how many objects are fetched at once.
	downloads = 4
	// maxIgnoreFileSize bounds the bucket's .sourceignore object.
	maxIgnoreFileSize = 1 << 20
)

// Errors that the bucket's answers map to; match them with errors.Is.
var (
	// ErrAuthentication: the endpoint refused the credentials, or denied
	// access to the bucket with them.
	ErrAuthentication = errors.New("access denied")
	// ErrBucketNotFound: the bucket does not exist at the endpoint.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrInvalid: the settings cannot work whatever the server says (a
	// malformed endpoint or bucket name).
	ErrInvalid = errors.New("invalid bucket settings")
	// ErrLimit: the bucket holds more objects or bytes than allowed.
	ErrLimit = errors.New("bucket too large")
	// ErrUnsafeName: an object name would be written outside the folder.
	ErrUnsafeName = errors.New("unsafe object name")
)

// Options say how to reach a bucket's endpoint.
type Options struct {
	// Endpoint is host[:port], without a scheme.
	Endpoint string
	// Insecure uses plain HTTP.
	Insecure bool
	// Region of the bucket; empty asks the server.
	Region string
	// AccessKey and SecretKey are static credentials; both empty means
	// anonymous requests.
	AccessKey, SecretKey string
	// TLS, when set, configures the HTTPS connection (CA, client pair).
	TLS *tls.Config
	// Proxy, when set, is the proxy for every request; otherwise the
	// environment's (HTTPS_PROXY, NO_PROXY) applies.
	Proxy *url.URL
	// MaxObjects and MaxBytes bound one listing and its download; 0 means
	// DefaultMaxObjects and DefaultMaxBytes.
	MaxObjects int
	MaxBytes   int64
}

// Client reads one endpoint. It is safe for concurrent use.
type Client struct {
	mc       *minio.Client
	endpoint string
	maxObj   int
	maxBytes int64
}

// New returns a Client for opts; it makes no request.
func New(opts Options) (*Client, error) {
	if opts.Endpoint == "" || strings.Contains(opts.Endpoint, "://") || strings.Contains(opts.Endpoint, "/") {
		return nil, fmt.Errorf("%w: endpoint '%s' must be host[:port] without a scheme or path", ErrInvalid, opts.Endpoint)
	}
	tr, err := minio.DefaultTransport(!opts.Insecure)
	if err != nil {
		return nil, err
	}
	if opts.TLS != nil {
		tr.TLSClientConfig = opts.TLS.Clone()
	}
	if opts.Proxy != nil {
		tr.Proxy = http.ProxyURL(opts.Proxy)
	}
	mc, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:     !opts.Insecure,
		Region:     opts.Region,
		Transport:  tr,
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: endpoint '%s': %v", ErrInvalid, opts.Endpoint, err)
	}
	c := &Client{mc: mc, endpoint: opts.Endpoint, maxObj: opts.MaxObjects, maxBytes: opts.MaxBytes}
	if c.maxObj <= 0 {
		c.maxObj = DefaultMaxObjects
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	return c, nil
}

// Index maps object names to their ETags.
type Index map[string]string

// Revision is Flux's revision of a Bucket: "sha256:" and the hex SHA-256
// of one "<name> <etag>\n" line per object, sorted by name.
func (idx Index) Revision() string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(idx)) {
		fmt.Fprintf(h, "%s %s\n", k, idx[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Index lists the objects of bucketName under prefix, as Flux does: the
// bucket's root .sourceignore object (when there is one) and then ignore
// (spec.ignore, ranking higher) exclude names; folder markers (names
// ending in "/") and the .sourceignore object itself are left out.
func (c *Client) Index(ctx context.Context, bucketName, prefix, ignore string) (Index, error) {
	if err := s3utils.CheckValidBucketName(bucketName); err != nil {
		return nil, fmt.Errorf("%w: bucket name '%s': %v", ErrInvalid, bucketName, err)
	}
	exists, err := c.mc.BucketExists(ctx, bucketName)
	if err != nil {
		return nil, c.wrap(err, bucketName, "", "check")
	}
	if !exists {
		return nil, fmt.Errorf("%w: bucket '%s' at '%s'", ErrBucketNotFound, bucketName, c.endpoint)
	}
	rootIgnore, err := c.readIgnoreFile(ctx, bucketName)
	if err != nil {
		return nil, err
	}
	m, err := artifact.NewMatcher(rootIgnore, ignore)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	idx := Index{}
	var total int64
	for obj := range c.mc.ListObjects(ctx, bucketName, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, c.wrap(obj.Err, bucketName, "", "list objects of")
		}
		if strings.HasSuffix(obj.Key, "/") || obj.Key == artifact.IgnoreFile || m.Excluded(obj.Key, false) {
			continue
		}
		idx[obj.Key] = obj.ETag
		total += obj.Size
		if len(idx) > c.maxObj || total > c.maxBytes {
			return nil, fmt.Errorf("%w: bucket '%s' at '%s' holds more than %d objects or %d bytes",
				ErrLimit, bucketName, c.endpoint, c.maxObj, c.maxBytes)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list objects of bucket '%s' at '%s': %w", bucketName, c.endpoint, err)
	}
	return idx, nil
}

// readIgnoreFile returns the bucket's root .sourceignore object, or ""
// when it has none.
func (c *Client) readIgnoreFile(ctx context.Context, bucketName string) (string, error) {
	obj, err := c.mc.GetObject(ctx, bucketName, artifact.IgnoreFile, minio.GetObjectOptions{})
	if err != nil {
		return "", c.wrap(err, bucketName, artifact.IgnoreFile, "get")
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, maxIgnoreFileSize))
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return "", nil
		}
		return "", c.wrap(err, bucketName, artifact.IgnoreFile, "get")
	}
	return string(data), nil
}

// Download writes every object of idx into dir under its name, a few at
// a time, and returns the index of what it wrote: an object changed since
// the listing gets its new ETag, one deleted since is left out (as Flux
// does). Names that would leave dir fail the download.
func (c *Client) Download(ctx context.Context, bucketName string, idx Index, dir string) (Index, error) {
	for key := range idx {
		if _, err := localPath(dir, key); err != nil {
			return nil, err
		}
	}
	var (
		mu    sync.Mutex
		got   = Index{}
		total int64
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(downloads)
	for _, key := range slices.Sorted(maps.Keys(idx)) {
		g.Go(func() error {
			etag, err := c.fetch(gctx, bucketName, key, dir, &mu, &total)
			if err != nil {
				if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
					return nil // deleted since the listing
				}
				return err
			}
			mu.Lock()
			got[key] = etag
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("download from bucket '%s' at '%s': %w", bucketName, c.endpoint, err)
	}
	return got, nil
}

// fetch writes one object and returns its ETag.
func (c *Client) fetch(ctx context.Context, bucketName, key, dir string, mu *sync.Mutex, total *int64) (string, error) {
	dst, err := localPath(dir, key)
	if err != nil {
		return "", err
	}
	obj, err := c.mc.GetObject(ctx, bucketName, key, minio.GetObjectOptions{})
	if err != nil {
		return "", c.wrap(err, bucketName, key, "get")
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return "", err
		}
		return "", c.wrap(err, bucketName, key, "get")
	}
	mu.Lock()
	*total += info.Size
	over := *total > c.maxBytes
	mu.Unlock()
	if over {
		return "", fmt.Errorf("%w: bucket '%s' at '%s' holds more than %d bytes", ErrLimit, bucketName, c.endpoint, c.maxBytes)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("object '%s': %w", key, err)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("object '%s': %w", key, err)
	}
	// The listing's size may be stale: never write more than it said.
	n, err := io.Copy(f, io.LimitReader(obj, info.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > info.Size {
		err = fmt.Errorf("%w: object '%s' is larger than its listed size", ErrLimit, key)
	}
	if err != nil {
		return "", c.wrap(err, bucketName, key, "download")
	}
	return info.ETag, nil
}

// localPath is where object key goes under dir. A name with "." or ".."
// segments, or an absolute one, is refused rather than rewritten, so two
// objects can never land on one file.
func localPath(dir, key string) (string, error) {
	clean := path.Clean(key)
	if key == "" || strings.HasPrefix(key, "/") || clean != strings.TrimSuffix(key, "/") ||
		clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(key, "\\") {
		return "", fmt.Errorf("%w: object '%s' would not be written inside the artifact; rename it", ErrUnsafeName, key)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

// wrap turns a minio-go error into one of this package's, naming the
// operation, bucket, endpoint and object.
func (c *Client) wrap(err error, bucketName, key, op string) error {
	where := fmt.Sprintf("bucket '%s' at '%s'", bucketName, c.endpoint)
	if key != "" {
		where = fmt.Sprintf("object '%s' of %s", key, where)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%s %s: %w: the server refused the credentials (%s)", op, where, ErrAuthentication, resp.Code)
	case minio.NoSuchBucket:
		return fmt.Errorf("%s %s: %w", op, where, ErrBucketNotFound)
	case "InvalidBucketName":
		return fmt.Errorf("%s %s: %w: %s", op, where, ErrInvalid, resp.Code)
	case "":
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s %s: timed out: %w", op, where, err)
		}
		return fmt.Errorf("%s %s: %w", op, where, err)
	}
	return fmt.Errorf("%s %s: %s: %s", op, where, resp.Code, resp.Message)
}

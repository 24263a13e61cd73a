package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
	"github.com/rclone/gofakes3/signature"
)

// S3Server is an S3-compatible object storage on loopback (rclone's
// gofakes3 with its in-memory backend, in the test process), over plain
// HTTP. It checks AWS Signature V4 on every request: only AccessKey with
// SecretKey gets in, anything else (other keys, anonymous requests) is
// answered with S3's own errors, as a real server would.
type S3Server struct {
	// Endpoint is "127.0.0.1:<port>", what a Bucket's spec.endpoint holds
	// (with spec.insecure: true).
	Endpoint string
	// AccessKey and SecretKey are the one pair the server accepts.
	AccessKey, SecretKey string

	client *minio.Client
}

// NewS3Server starts a server that stops with the test.
func NewS3Server(t testing.TB) *S3Server {
	t.Helper()
	s := &S3Server{AccessKey: "tether-test-access", SecretKey: "tether-test-secret-" + rand.Text()}
	srv := httptest.NewServer(s.handler(gofakes3.New(s3mem.New()).Server()))
	t.Cleanup(srv.Close)
	s.Endpoint = strings.TrimPrefix(srv.URL, "http://")
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	return s
}

// handler checks each request's signature with gofakes3's own SigV4
// verifier (what its WithV4Auth does) and then hands it to fake. In
// between it drops an empty "delimiter" parameter, which S3 ignores but
// gofakes3 takes for a delimiter (listing nothing): minio-go sends one
// with every recursive listing.
func (s *S3Server) handler(fake http.Handler) http.Handler {
	lookup := func(accessKey string) (string, bool) { return s.SecretKey, accessKey == s.AccessKey }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := signature.V4SignVerifyWithLookup(r, lookup); code != signature.ErrNone {
			apiErr := signature.GetAPIError(code)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(apiErr.HTTPStatusCode)
			if r.Method != http.MethodHead {
				_, _ = w.Write(signature.EncodeAPIErrorToResponse(apiErr))
			}
			return
		}
		if q := r.URL.Query(); q.Has("delimiter") && q.Get("delimiter") == "" {
			q.Del("delimiter")
			r.URL.RawQuery = q.Encode()
		}
		fake.ServeHTTP(w, r)
	})
}

// CreateBucket makes a bucket.
func (s *S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// Put writes (or replaces) objects, name to content.
func (s *S3Server) Put(t testing.TB, bucket string, objects map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for key, content := range objects {
		_, err := s.client.PutObject(ctx, bucket, key, bytes.NewReader([]byte(content)), int64(len(content)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
}

// Delete removes objects.
func (s *S3Server) Delete(t testing.TB, bucket string, keys ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, key := range keys {
		if err := s.client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("delete %s/%s: %v", bucket, key, err)
		}
	}
}

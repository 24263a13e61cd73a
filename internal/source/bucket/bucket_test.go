package bucket_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/internal/source/bucket"
	"github.com/tether-gitops/tether/internal/testenv"
)

func TestRevision(t *testing.T) {
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "sha256:" + hex.EncodeToString(h[:])
	}
	for _, tc := range []struct {
		name string
		idx  bucket.Index
		want string
	}{
		{name: "empty", idx: bucket.Index{}, want: sum("")},
		{name: "one", idx: bucket.Index{"a.yaml": "e1"}, want: sum("a.yaml e1\n")},
		{name: "sorted by name", idx: bucket.Index{"b/x.yaml": "e2", "a.yaml": "e1"}, want: sum("a.yaml e1\nb/x.yaml e2\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.idx.Revision(); got != tc.want {
				t.Errorf("Revision() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewRefusesEndpoints(t *testing.T) {
	for _, ep := range []string{"", "http://127.0.0.1:9000", "127.0.0.1:9000/path"} {
		if _, err := bucket.New(bucket.Options{Endpoint: ep}); !errors.Is(err, bucket.ErrInvalid) {
			t.Errorf("New(%q) = %v, want ErrInvalid", ep, err)
		}
	}
}

// TestBucket lists and downloads from a real S3 server on loopback.
func TestBucket(t *testing.T) {
	s3 := testenv.NewS3Server(t)
	s3.CreateBucket(t, "manifests")
	s3.Put(t, "manifests", map[string]string{
		".sourceignore":         "*.md\n",
		"deploy/app.yaml":       "kind: ConfigMap\n",
		"deploy/sub/db.yaml":    "kind: Secret\n",
		"deploy/README.md":      "readme",
		"deploy/skip/x.yaml":    "skipped by spec.ignore",
		"other/app.yaml":        "outside the prefix",
		"deploy/folder-marker/": "",
	})
	good := bucket.Options{Endpoint: s3.Endpoint, Insecure: true, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}

	for _, tc := range []struct {
		name    string
		opts    bucket.Options
		bucket  string
		prefix  string
		ignore  string
		want    []string
		wantErr error
	}{
		{name: "prefix, .sourceignore and spec.ignore", opts: good, bucket: "manifests", prefix: "deploy/", ignore: "/deploy/skip/",
			want: []string{"deploy/app.yaml", "deploy/sub/db.yaml"}},
		{name: "spec.ignore ranks above .sourceignore", opts: good, bucket: "manifests", prefix: "deploy/", ignore: "!*.md\n/deploy/skip/",
			want: []string{"deploy/README.md", "deploy/app.yaml", "deploy/sub/db.yaml"}},
		{name: "whole bucket", opts: good, bucket: "manifests",
			want: []string{"deploy/app.yaml", "deploy/skip/x.yaml", "deploy/sub/db.yaml", "other/app.yaml"}},
		{name: "wrong secret key", opts: withKeys(good, s3.AccessKey, "not-the-secret"), bucket: "manifests", wantErr: bucket.ErrAuthentication},
		{name: "unknown access key", opts: withKeys(good, "someone-else", s3.SecretKey), bucket: "manifests", wantErr: bucket.ErrAuthentication},
		{name: "anonymous", opts: withKeys(good, "", ""), bucket: "manifests", wantErr: bucket.ErrAuthentication},
		{name: "missing bucket", opts: good, bucket: "nothing-here", wantErr: bucket.ErrBucketNotFound},
		{name: "invalid bucket name", opts: good, bucket: "No_Such..Name", wantErr: bucket.ErrInvalid},
		{name: "too many objects", opts: withLimit(good, 1), bucket: "manifests", wantErr: bucket.ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := bucket.New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := c.Index(ctx, tc.bucket, tc.prefix, tc.ignore)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Index: %v, want %v", err, tc.wantErr)
				}
				for _, secret := range []string{s3.SecretKey, "not-the-secret"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error quotes a secret key: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(idx)); !slices.Equal(got, tc.want) {
				t.Fatalf("indexed %v, want %v", got, tc.want)
			}
			dir := t.TempDir()
			got, err := c.Download(ctx, tc.bucket, idx, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision() != idx.Revision() {
				t.Errorf("download revision %s, listing %s", got.Revision(), idx.Revision())
			}
			for _, key := range tc.want {
				if _, err := os.Stat(filepath.Join(dir, key)); err != nil {
					t.Errorf("object %s not written: %v", key, err)
				}
			}
		})
	}
}

// TestBucketRevisionFollowsObjects: a changed, added or deleted object
// gives a new revision; nothing changed gives the same.
func TestBucketRevisionFollowsObjects(t *testing.T) {
	s3 := testenv.NewS3Server(t)
	s3.CreateBucket(t, "bkt")
	s3.Put(t, "bkt", map[string]string{"a.yaml": "one"})
	c, err := bucket.New(bucket.Options{Endpoint: s3.Endpoint, Insecure: true, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	revision := func() string {
		idx, err := c.Index(context.Background(), "bkt", "", "")
		if err != nil {
			t.Fatal(err)
		}
		return idx.Revision()
	}
	first := revision()
	if again := revision(); again != first {
		t.Errorf("unchanged bucket: %s then %s", first, again)
	}
	seen := map[string]bool{first: true}
	for _, change := range []func(){
		func() { s3.Put(t, "bkt", map[string]string{"a.yaml": "two"}) },
		func() { s3.Put(t, "bkt", map[string]string{"b.yaml": "new"}) },
		func() { s3.Delete(t, "bkt", "a.yaml") },
	} {
		change()
		rev := revision()
		if seen[rev] {
			t.Errorf("revision %s seen before", rev)
		}
		seen[rev] = true
	}
}

func TestDownloadRefusesUnsafeNames(t *testing.T) {
	c, err := bucket.New(bucket.Options{Endpoint: "127.0.0.1:1", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../escape.yaml", "a/../../escape.yaml", "/abs.yaml", "a/./b.yaml", `a\..\b.yaml`} {
		_, err := c.Download(context.Background(), "b", bucket.Index{key: "etag"}, t.TempDir())
		if !errors.Is(err, bucket.ErrUnsafeName) || !strings.Contains(err.Error(), key) {
			t.Errorf("Download(%q) = %v, want ErrUnsafeName naming it", key, err)
		}
	}
}

func withKeys(o bucket.Options, access, secret string) bucket.Options {
	o.AccessKey, o.SecretKey = access, secret
	return o
}

func withLimit(o bucket.Options, objects int) bucket.Options {
	o.MaxObjects = objects
	return o
}

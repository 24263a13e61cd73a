package artifact

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// fetchTimeout bounds one download of a peer's artifact.
const fetchTimeout = 2 * time.Minute

// Fetch makes sure that the artifact at artifactPath (a Stored.Path) is in
// this Storage: when it is not (another replica produced it, with --shards
// auto, or this one restarted on an empty volume), it downloads it from
// artifactURL, where the replica that made it serves it, and keeps it only
// when its SHA-256 is digest and it lands at artifactPath. The download is
// bounded by MaxExtractSize and fetchTimeout.
func (s *Storage) Fetch(ctx context.Context, artifactPath, artifactURL, digest string) error {
	if s.Exists(artifactPath) {
		return nil
	}
	parts := strings.Split(artifactPath, "/")
	if len(parts) != 4 {
		return fmt.Errorf("fetch artifact %s: not a stored artifact's path", artifactPath)
	}
	ext := ""
	for _, e := range artifactExts {
		if strings.HasSuffix(parts[3], e) {
			ext = e
		}
	}
	if ext == "" {
		return fmt.Errorf("fetch artifact %s: not a stored artifact's path", artifactPath)
	}
	u, err := url.Parse(artifactURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("fetch artifact %s: invalid URL %q", artifactPath, artifactURL)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	limit := s.MaxExtractSize
	if limit <= 0 {
		limit = DefaultMaxExtractSize
	}
	stored, err := s.StoreAs(ctx, parts[0], parts[1], parts[2], ext, func(w io.Writer) (PackResult, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return PackResult{}, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return PackResult{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return PackResult{}, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
		}
		n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return PackResult{}, err
		}
		if n > limit {
			return PackResult{}, fmt.Errorf("GET %s: larger than %d bytes", u.Redacted(), limit)
		}
		return PackResult{}, nil
	})
	if err != nil {
		return fmt.Errorf("fetch artifact %s: %w", artifactPath, err)
	}
	if stored.Digest != digest || stored.Path != artifactPath {
		s.mu.Lock()
		os.Remove(filepath.Join(s.Root, filepath.FromSlash(stored.Path)))
		s.mu.Unlock()
		return fmt.Errorf("fetch artifact %s: the download's digest is %s, want %s", artifactPath, stored.Digest, digest)
	}
	return nil
}

package argo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/tether-gitops/tether/internal/notify"
)

// maxAnswer bounds what is read of a service's answer.
const maxAnswer = 64 << 10

// postReading sends body to target as notify.Post does (same retry
// classes; errors name the host, never the URL's path or query) and hands
// a 2xx answer's body to check, for APIs that answer 200 with an error
// inside (Slack, Teams). An error of check is retried unless it is
// marked notify.Permanent.
func postReading(ctx context.Context, client *http.Client, method, target string, body []byte,
	headers map[string]string, check func(answer []byte) error) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return notify.Permanent(errors.New("invalid address: an http(s) URL is required"))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("request to %s: invalid", u.Host))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", method, u.Host, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if err := check(answer); err != nil {
			return fmt.Errorf("%s %s: %w", method, u.Host, err)
		}
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%s %s: %s", method, u.Host, resp.Status)
	default:
		return notify.Permanent(fmt.Errorf("%s %s: %s", method, u.Host, resp.Status))
	}
}

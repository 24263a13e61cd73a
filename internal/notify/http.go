package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTPOptions configure the client of one destination.
type HTTPOptions struct {
	// Proxy is an HTTP(S) proxy URL; empty uses none (not the
	// environment's: a Provider says where its traffic goes).
	Proxy string
	// CAPEM adds certificate authorities to the system's.
	CAPEM []byte
	// CertPEM and KeyPEM are a client certificate (mTLS).
	CertPEM, KeyPEM []byte
	// InsecureSkipVerify turns off server certificate checks.
	InsecureSkipVerify bool
	// Timeout bounds a request; 15 s when zero.
	Timeout time.Duration
}

// NewHTTPClient returns a client for opts.
func NewHTTPClient(opts HTTPOptions) (*http.Client, error) {
	tr := &http.Transport{Proxy: nil, TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 15 * time.Second,
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second}
	if opts.Proxy != "" {
		u, err := url.Parse(opts.Proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("invalid proxy URL")
		}
		tr.Proxy = http.ProxyURL(u)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // the user's choice
	if len(opts.CAPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(opts.CAPEM) {
			return nil, errors.New("no certificate found in the CA data")
		}
		tlsCfg.RootCAs = pool
	}
	if len(opts.CertPEM) > 0 {
		cert, err := tls.X509KeyPair(opts.CertPEM, opts.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsCfg
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// Post sends body to target with the method (POST when empty) and
// headers. A 2xx answer is success; 408, 429 and 5xx answers and
// transport errors may be retried; any other answer is Permanent. Errors
// name the host, never the URL's path or query (they can hold tokens, as
// Slack's and Discord's webhook URLs do).
func Post(ctx context.Context, client *http.Client, method, target string, body []byte, headers map[string]string) error {
	if method == "" {
		method = http.MethodPost
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Permanent(errors.New("invalid address: an http(s) URL is required"))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("request to %s: invalid", u.Host))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" && len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		// The url.Error holds the whole URL: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", method, u.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%s %s: %s", method, u.Host, resp.Status)
	default:
		return Permanent(fmt.Errorf("%s %s: %s", method, u.Host, resp.Status))
	}
}

// PostJSON sends v as JSON with Post.
func PostJSON(ctx context.Context, client *http.Client, target string, v any, headers map[string]string) error {
	body, err := json.Marshal(v)
	if err != nil {
		return Permanent(fmt.Errorf("encode payload: %w", err))
	}
	return Post(ctx, client, http.MethodPost, target, body, headers)
}

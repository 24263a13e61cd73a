// Package apiclient calls Tether's REST API (the shape of Argo CD's gRPC
// gateway, plus Tether's /api/v1/flux endpoints) for the CLI.
package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponse bounds what one answer may hold (a list of 10,000 apps is
// well under it).
const maxResponse = 512 << 20

// Client calls one API server with one token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Options say how to reach the server.
type Options struct {
	// Server is host[:port] or a URL.
	Server string
	// Token is the bearer token ("" before login).
	Token string
	// Insecure accepts any server certificate.
	Insecure bool
	// Plaintext speaks HTTP instead of HTTPS.
	Plaintext bool
	// Timeout bounds each request; 0 means one minute.
	Timeout time.Duration
}

// New returns a client for opts.
func New(opts Options) (*Client, error) {
	if opts.Server == "" {
		return nil, errors.New("no server: run `tether login SERVER` or pass --server (or use --core to talk to the cluster directly)")
	}
	base := opts.Server
	if !strings.Contains(base, "://") {
		scheme := "https://"
		if opts.Plaintext {
			scheme = "http://"
		}
		base = scheme + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("server %q is not host[:port] or a URL", opts.Server)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.Insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked with --insecure
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), token: opts.Token,
		http: &http.Client{Timeout: timeout, Transport: transport}}, nil
}

// Server returns the base URL the client calls.
func (c *Client) Server() string { return c.base }

// Error is an answer other than 2xx, with the server's message.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the gRPC code of the body, when it has one.
	Code int
	// Message is the server's message.
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return http.StatusText(e.Status)
	}
	return e.Message
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Do sends method path with body (JSON, none when nil) and decodes a JSON
// answer into out (ignored when nil).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send makes the request and turns a non-2xx answer into *Error; the
// caller closes the body of a 2xx answer.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var eb struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(data, &eb) == nil {
		e.Code, e.Message = eb.Code, eb.Message
		if e.Message == "" {
			e.Message = eb.Error
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(data))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return nil, e
}

// Login exchanges a username and password for a session token.
func (c *Client) Login(ctx context.Context, username, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/session", map[string]string{"username": username, "password": password}, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", errors.New("the server answered the login without a token")
	}
	return out.Token, nil
}

// UserInfo is who the server takes the caller for.
type UserInfo struct {
	LoggedIn bool     `json:"loggedIn"`
	Username string   `json:"username,omitempty"`
	Iss      string   `json:"iss,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// UserInfo asks who the token belongs to.
func (c *Client) UserInfo(ctx context.Context) (*UserInfo, error) {
	var out UserInfo
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/session/userinfo", nil, &out)
}

// Escape escapes one path segment.
func Escape(s string) string { return url.PathEscape(s) }

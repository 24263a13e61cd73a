package argo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// webhookOptions are `service.webhook.<name>` options.
type webhookOptions struct {
	URL     string `json:"url"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
	BasicAuth *struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"basicAuth"`
	InsecureSkipVerify bool `json:"insecureSkipVerify"`
}

// webhookService sends HTTP requests to one URL.
type webhookService struct {
	url     string
	headers map[string]string
	client  *http.Client
}

func newWebhook(raw []byte, masks *redact.Values) (Service, error) {
	var o webhookOptions
	if err := decodeOptions(raw, &o); err != nil {
		return nil, err
	}
	headers := map[string]string{}
	for _, h := range o.Headers {
		masks.Add(h.Value)
		if h.Name == "" {
			return nil, errors.New("webhook: a header has no name")
		}
		headers[h.Name] = h.Value
	}
	if b := o.BasicAuth; b != nil {
		masks.Add(b.Password)
		headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(b.Username+":"+b.Password))
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: url must be an http(s) URL")
	}
	if p, ok := u.User.Password(); ok {
		masks.Add(p)
	}
	masks.Add(u.RawQuery)
	c, err := httpClient(o.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return &webhookService{url: o.URL, headers: headers, client: c}, nil
}

// Send makes the request of the template's webhook.<service> part (its
// method, the URL with its path appended, its body), or, without one, a
// GET with the message as body, as upstream does.
func (s *webhookService) Send(ctx context.Context, m *Message, to Destination) error {
	method, target, body := http.MethodGet, s.url, m.Text
	if w, ok := m.Webhook[to.Service]; ok {
		body = w.Body
		if w.Method != "" {
			method = strings.ToUpper(w.Method)
		}
		if w.Path != "" {
			target = strings.TrimRight(s.url, "/") + "/" + strings.TrimLeft(w.Path, "/")
		}
	}
	return notify.Post(ctx, s.client, method, target, []byte(body), s.headers)
}

package flux

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/connsecret"
	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// target is a Provider resolved for one delivery: where it goes, with
// which credentials and client. Its fields may hold secrets: never log
// them; masks masks every value read from the Provider's Secrets.
type target struct {
	typ      string
	uid      string
	address  string
	channel  string
	username string
	password string
	token    string
	headers  map[string]string
	client   *http.Client
	masks    *redact.Values
	// statusExpr is spec.commitStatusExpr, which Tether does not evaluate.
	statusExpr string
}

// resolve reads the Provider's Secrets (secretRef, proxySecretRef,
// certSecretRef) with reader and returns the delivery target. Secret
// values override the spec's, as Flux documents: address, proxy,
// username, password, token and headers.
func resolve(ctx context.Context, reader client.Reader, p *notificationv1.Provider) (*target, error) {
	t := &target{typ: p.Spec.Type, uid: string(p.UID), address: strings.TrimSpace(p.Spec.Address),
		channel: p.Spec.Channel, username: p.Spec.Username, masks: &redact.Values{}, statusExpr: p.Spec.CommitStatusExpr}
	httpOpts := notify.HTTPOptions{Proxy: strings.TrimSpace(p.Spec.Proxy), Timeout: notificationv1.DefaultProviderTimeout}
	if p.Spec.Timeout != nil && p.Spec.Timeout.Duration > 0 {
		httpOpts.Timeout = p.Spec.Timeout.Duration
	}
	if ref := p.Spec.SecretRef; ref != nil {
		data, err := secretData(ctx, reader, p.Namespace, ref.Name, t.masks)
		if err != nil {
			return nil, err
		}
		if err := t.fromSecret(data, &httpOpts); err != nil {
			return nil, fmt.Errorf("Secret %s/%s of Provider %s: %w", p.Namespace, ref.Name, p.Name, err)
		}
	}
	if ref := p.Spec.ProxySecretRef; ref != nil {
		data, err := secretData(ctx, reader, p.Namespace, ref.Name, t.masks)
		if err != nil {
			return nil, err
		}
		proxy, err := proxyFromSecret(data)
		if err != nil {
			return nil, fmt.Errorf("proxy Secret %s/%s of Provider %s: %w", p.Namespace, ref.Name, p.Name, err)
		}
		httpOpts.Proxy = proxy
	}
	if ref := p.Spec.CertSecretRef; ref != nil {
		data, err := secretData(ctx, reader, p.Namespace, ref.Name, t.masks)
		if err != nil {
			return nil, err
		}
		httpOpts.CAPEM = firstKey(data, "ca.crt", "caFile")
		httpOpts.CertPEM = firstKey(data, "tls.crt", "certFile")
		httpOpts.KeyPEM = firstKey(data, "tls.key", "keyFile")
	}
	c, err := notify.NewHTTPClient(httpOpts)
	if err != nil {
		return nil, fmt.Errorf("HTTP client of Provider %s/%s: %w", p.Namespace, p.Name, t.masks.Error(err))
	}
	t.client = c
	return t, nil
}

// fromSecret takes the keys of a Provider's secretRef.
func (t *target) fromSecret(data map[string][]byte, httpOpts *notify.HTTPOptions) error {
	if v, ok := data["address"]; ok {
		t.address = strings.TrimSpace(string(v))
	}
	if v, ok := data["proxy"]; ok {
		httpOpts.Proxy = strings.TrimSpace(string(v))
	}
	if v, ok := data["token"]; ok {
		t.token = strings.TrimSpace(string(v))
	}
	if v, ok := data["username"]; ok {
		t.username = strings.TrimSpace(string(v))
	}
	if v, ok := data["password"]; ok {
		t.password = strings.TrimSpace(string(v))
	}
	if v, ok := data["headers"]; ok {
		h, err := ParseHeaders(v)
		if err != nil {
			return err
		}
		t.headers = h
		for _, v := range h {
			t.masks.AddWithBase64(v)
		}
	}
	return nil
}

// proxyFromSecret reads a proxySecretRef: "address", and optional
// "username" and "password".
func proxyFromSecret(data map[string][]byte) (string, error) {
	u, err := connsecret.Proxy(data)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// secretData reads a Secret of namespace and adds its values to masks.
func secretData(ctx context.Context, reader client.Reader, namespace, name string, masks *redact.Values) (map[string][]byte, error) {
	var s corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("read Secret %s/%s: %w", namespace, name, err)
	}
	masks.AddSecretData(s.Data)
	return s.Data, nil
}

func firstKey(data map[string][]byte, keys ...string) []byte {
	for _, k := range keys {
		if v, ok := data[k]; ok {
			return v
		}
	}
	return nil
}

// ErrInvalidHeaders is returned for a headers key that is not a YAML map
// of header names to values. Its message never quotes the Secret.
var ErrInvalidHeaders = errors.New("the headers key must be a YAML map of HTTP header names to values")

// ParseHeaders reads the "headers" key of a Provider's Secret: a YAML map
// of header names to string values. Names must be HTTP tokens and values
// must not hold control characters other than tab, so that a Secret cannot
// smuggle a header or a request line. Errors never quote the input.
func ParseHeaders(data []byte) (map[string]string, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, ErrInvalidHeaders
	}
	out := make(map[string]string, len(raw))
	for name, v := range raw {
		var value string
		switch t := v.(type) {
		case string:
			value = t
		case bool, float64, int64, int:
			value = fmt.Sprint(t)
		case nil:
		default:
			return nil, ErrInvalidHeaders
		}
		if !validHeaderName(name) {
			return nil, fmt.Errorf("%w: a header name is not an HTTP token", ErrInvalidHeaders)
		}
		if !validHeaderValue(value) {
			return nil, fmt.Errorf("%w: the value of header %s holds a control character", ErrInvalidHeaders, name)
		}
		out[http.CanonicalHeaderKey(name)] = value
	}
	return out, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// deliveryTimeout bounds one delivery of p: spec.timeout, else Flux's
// default.
func deliveryTimeout(p *notificationv1.Provider) time.Duration {
	if p.Spec.Timeout != nil && p.Spec.Timeout.Duration > 0 {
		return p.Spec.Timeout.Duration
	}
	return notificationv1.DefaultProviderTimeout
}

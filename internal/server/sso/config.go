package sso

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Keys of argocd-cm that SSO reads.
const (
	// KeyOIDCConfig is the OIDC provider's configuration (YAML).
	KeyOIDCConfig = "oidc.config"
	// KeyURL is the server's external URL; the redirect URI is
	// <url>/auth/callback.
	KeyURL = "url"
	// KeyInsecureSkipVerify, "true", skips the verification of the
	// provider's TLS certificate, as Argo CD's key of the same name.
	KeyInsecureSkipVerify = "oidc.tls.insecure.skip.verify"
	// KeyDexConfig is Argo CD's bundled Dex, which Tether does not run.
	KeyDexConfig = "dex.config"
)

// secretName is the Secret that "$key" references resolve in.
const secretName = "argocd-secret"

// DefaultScopes are the scopes asked for when oidc.config requests none,
// as Argo CD's.
var DefaultScopes = []string{"openid", "profile", "email", "groups"}

// Config is argocd-cm's oidc.config with argocd-secret references
// resolved and Argo CD's defaults applied, plus the argocd-cm keys SSO
// reads besides it.
type Config struct {
	// Name is the provider's name as the UI shows it.
	Name string `json:"name,omitempty"`
	// Issuer is the provider's issuer URL; tokens of any other issuer are
	// not SSO tokens.
	Issuer string `json:"issuer"`
	// ClientID is Tether's client ID at the provider.
	ClientID string `json:"clientID"`
	// ClientSecret is Tether's client secret at the provider.
	ClientSecret string `json:"clientSecret,omitempty"`
	// CLIClientID is the CLI's client ID; its tokens are accepted too
	// unless AllowedAudiences says otherwise.
	CLIClientID string `json:"cliClientID,omitempty"`
	// RequestedScopes are the scopes asked for at login; DefaultScopes
	// when empty, and always with openid.
	RequestedScopes []string `json:"requestedScopes,omitempty"`
	// RequestedIDTokenClaims are asked for through the claims request
	// parameter (OpenID Connect Core 5.5).
	RequestedIDTokenClaims map[string]*Claim `json:"requestedIDTokenClaims,omitempty"`
	// AllowedAudiences are the audiences a token must name one of;
	// ClientID and CLIClientID when empty.
	AllowedAudiences []string `json:"allowedAudiences,omitempty"`
	// RootCA is the PEM certificate(s) the provider's TLS certificate is
	// checked against instead of the system's.
	RootCA string `json:"rootCA,omitempty"`
	// EnablePKCEAuthentication sends a PKCE code challenge at login.
	EnablePKCEAuthentication bool `json:"enablePKCEAuthentication,omitempty"`

	// URL is argocd-cm url without a trailing slash: the server's
	// external URL. Logins need it; verifying tokens does not.
	URL string `json:"-"`
	// InsecureSkipVerify is argocd-cm oidc.tls.insecure.skip.verify.
	InsecureSkipVerify bool `json:"-"`
}

// Claim is a claim requested for the ID token.
type Claim struct {
	// Essential asks the provider to treat the claim as essential.
	Essential bool `json:"essential,omitempty"`
	// Value is the one value asked for.
	Value string `json:"value,omitempty"`
	// Values are the values asked for.
	Values []string `json:"values,omitempty"`
}

// RedirectURL is where the provider sends the browser back to.
func (c *Config) RedirectURL() string { return c.URL + "/auth/callback" }

// ParseConfig reads SSO's configuration from argocd-cm's data (cm) and
// argocd-secret's (secret). It returns nil without error when argocd-cm
// has no oidc.config. Any string of oidc.config that starts with "$" is a
// reference, as in Argo CD: "$key" or "$argocd-secret:key" is the key of
// argocd-secret; a missing key is an error rather than a literal. Errors
// name the field, never a value.
func ParseConfig(cm map[string]string, secret map[string][]byte) (*Config, error) {
	raw := cm[KeyOIDCConfig]
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var tree any
	if err := yaml.Unmarshal([]byte(raw), &tree); err != nil {
		return nil, fmt.Errorf("argocd-cm %s is not valid YAML: %w", KeyOIDCConfig, err)
	}
	fields, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("argocd-cm %s must be a YAML mapping (issuer, clientID, clientSecret, ...)", KeyOIDCConfig)
	}
	resolved, err := resolveRefs(fields, KeyOIDCConfig, secret)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(resolved)
	if err != nil {
		return nil, fmt.Errorf("argocd-cm %s: %w", KeyOIDCConfig, err)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("argocd-cm %s: field %s must be of type %s, not %s", KeyOIDCConfig, typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return nil, fmt.Errorf("argocd-cm %s: %w", KeyOIDCConfig, err)
	}
	c.URL = strings.TrimRight(strings.TrimSpace(cm[KeyURL]), "/")
	c.InsecureSkipVerify = strings.TrimSpace(cm[KeyInsecureSkipVerify]) == "true"
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	if len(c.RequestedScopes) == 0 {
		c.RequestedScopes = slices.Clone(DefaultScopes)
	}
	if !slices.Contains(c.RequestedScopes, "openid") {
		// Without openid the provider issues no ID token: asking for it
		// is never wrong, leaving it out never works.
		c.RequestedScopes = append([]string{"openid"}, c.RequestedScopes...)
	}
	if len(c.AllowedAudiences) == 0 {
		c.AllowedAudiences = []string{c.ClientID}
		if c.CLIClientID != "" {
			c.AllowedAudiences = append(c.AllowedAudiences, c.CLIClientID)
		}
	}
}

func (c *Config) validate() error {
	field := func(name, problem string) error {
		return fmt.Errorf("argocd-cm %s: %s %s", KeyOIDCConfig, name, problem)
	}
	if c.Issuer == "" {
		return field("issuer", "is required (the provider's issuer URL)")
	}
	if err := checkHTTPURL(c.Issuer); err != nil {
		return field("issuer", err.Error())
	}
	if c.ClientID == "" {
		return field("clientID", "is required")
	}
	if slices.Contains(c.AllowedAudiences, "") {
		return field("allowedAudiences", "must not hold an empty audience")
	}
	if c.RootCA != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.RootCA)) {
		return field("rootCA", "holds no PEM certificate")
	}
	if c.URL != "" {
		if err := checkHTTPURL(c.URL); err != nil {
			return fmt.Errorf("argocd-cm %s %s", KeyURL, err)
		}
	}
	return nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must be an https:// (or http://) URL")
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return errors.New("must be a URL with a host and no user, query or fragment")
	}
	return nil
}

// resolveRefs replaces every "$..." string under v (at path) with the
// argocd-secret value it names.
func resolveRefs(v any, path string, secret map[string][]byte) (any, error) {
	switch v := v.(type) {
	case string:
		return resolveRef(v, path, secret)
	case map[string]any:
		out := make(map[string]any, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the first error is always the same one
		for _, k := range keys {
			r, err := resolveRefs(v[k], path+"."+k, secret)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := resolveRefs(e, fmt.Sprintf("%s[%d]", path, i), secret)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

func resolveRef(s, path string, secret map[string][]byte) (string, error) {
	ref, isRef := strings.CutPrefix(s, "$")
	if !isRef || ref == "" {
		return s, nil
	}
	key := ref
	if name, k, hasName := strings.Cut(ref, ":"); hasName {
		if name != secretName {
			return "", fmt.Errorf("argocd-cm %s refers to Secret %s: Tether resolves references in %s only; put the value there and write $%s", path, name, secretName, k)
		}
		key = k
	}
	value, ok := secret[key]
	if !ok {
		return "", fmt.Errorf("argocd-cm %s refers to %s key %q, which does not exist", path, secretName, key)
	}
	return strings.TrimSpace(string(value)), nil
}

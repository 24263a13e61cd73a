package argo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// Service delivers a rendered Message to one recipient. Its errors never
// carry a credential or a URL's path.
type Service interface {
	Send(ctx context.Context, m *Message, to Destination) error
}

// serviceTimeout bounds one request of a service; the dispatcher's
// deadline per attempt bounds it too.
const serviceTimeout = 15 * time.Second

// serviceBuilders make a Service of each supported type from its options
// (JSON, secrets resolved); they add the options' credentials to masks.
var serviceBuilders = map[string]func(opts []byte, masks *redact.Values) (Service, error){
	"slack":   newSlack,
	"webhook": newWebhook,
	"email":   newEmail,
	"teams":   newTeams,
	"github":  newGitHub,
}

// secretRef is a reference to a key of argocd-notifications-secret, as
// upstream matches them: $ followed by word characters and dashes.
var secretRef = regexp.MustCompile(`\$[\w-]+`)

// resolveSecrets replaces $key references with the Secret's values in
// every string of a service's YAML options and returns them as JSON. A
// reference to a missing key stays as written.
func resolveSecrets(text string, secret map[string][]byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case string:
			return secretRef.ReplaceAllStringFunc(t, func(ref string) string {
				if val, ok := secret[ref[1:]]; ok {
					return string(val)
				}
				return ref
			})
		case map[string]any:
			for k, e := range t {
				t[k] = walk(e)
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		}
		return v
	}
	return json.Marshal(walk(doc))
}

// parseService builds the service of a `service.<type>[.<name>]` key.
func parseService(typ, text string, secret map[string][]byte, masks *redact.Values) (Service, error) {
	build, ok := serviceBuilders[typ]
	if !ok {
		return nil, fmt.Errorf("service type %q is not supported by Tether (slack, webhook, email, teams, github are)", typ)
	}
	opts, err := resolveSecrets(text, secret)
	if err != nil {
		return nil, err
	}
	return build(opts, masks)
}

// decodeOptions reads a service's options; the error never quotes them
// (they hold credentials).
func decodeOptions(opts []byte, into any) error {
	if err := json.Unmarshal(opts, into); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fmt.Errorf("invalid options: field %s must be a %s", typeErr.Field, typeErr.Type)
		}
		return errors.New("invalid options")
	}
	return nil
}

// httpClient is the client of one service.
func httpClient(insecure bool) (*http.Client, error) {
	return notify.NewHTTPClient(notify.HTTPOptions{InsecureSkipVerify: insecure, Timeout: serviceTimeout})
}

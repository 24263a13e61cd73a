package argo

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/redact"
)

// Names of Argo CD's notification settings, in its namespace.
const (
	// ConfigMapName holds triggers, templates, services, subscriptions,
	// defaultTriggers and context.
	ConfigMapName = "argocd-notifications-cm"
	// SecretName holds the values that $name references in services
	// stand for.
	SecretName = "argocd-notifications-secret"
)

// Config is argocd-notifications-cm and argocd-notifications-secret
// parsed: everything compiled, so that evaluating an app is cheap.
type Config struct {
	// Triggers are the conditions of each trigger, the catalog's included.
	Triggers map[string][]*Condition
	// Templates are the compiled templates, the catalog's included.
	Templates map[string]*Template
	// Services are the configured services by name.
	Services map[string]Service
	// DefaultTriggers are used by subscriptions that name no trigger.
	DefaultTriggers []string
	// ServiceDefaultTriggers (`defaultTriggers.<service>`) are used by
	// subscriptions of that service that name no trigger.
	ServiceDefaultTriggers map[string][]string
	// Subscriptions are the ConfigMap's `subscriptions`.
	Subscriptions []DefaultSubscription
	// Context is the ConfigMap's `context`, templates' .context.
	Context map[string]string
	// Problems are the keys that could not be parsed, with why; the rest
	// of the settings work without them.
	Problems map[string]error
	// Masks hide the Secret's values and the services' credentials in
	// every message Tether writes about notifications.
	Masks *redact.Values
	// Now is the clock of time.Now in conditions and templates.
	Now func() time.Time

	secrets map[string]string
}

// Parse builds a Config from the ConfigMap's and the Secret's data. It
// never fails as a whole: a key that does not parse is left out and
// reported in Problems.
func Parse(data map[string]string, secret map[string][]byte) *Config {
	c := &Config{
		Triggers:               map[string][]*Condition{},
		Templates:              map[string]*Template{},
		Services:               map[string]Service{},
		ServiceDefaultTriggers: map[string][]string{},
		Context:                map[string]string{},
		Problems:               map[string]error{},
		Masks:                  &redact.Values{},
		Now:                    time.Now,
		secrets:                map[string]string{},
	}
	c.Masks.AddSecretData(secret)
	for k, v := range secret {
		c.secrets[k] = string(v)
	}
	funcs := funcMap()
	cat := compiledCatalog()
	maps.Copy(c.Triggers, cat.triggers)
	maps.Copy(c.Templates, cat.templates)
	keys := slices.Sorted(maps.Keys(data))
	for _, k := range keys {
		if err := c.parseKey(k, data[k], secret, funcs); err != nil {
			c.Problems[k] = err
		}
	}
	return c
}

// parseKey reads one key of the ConfigMap.
func (c *Config) parseKey(k, v string, secret map[string][]byte, funcs template.FuncMap) error {
	switch {
	case k == "subscriptions":
		subs, err := parseSubscriptions(v)
		c.Subscriptions = subs
		return err
	case k == "defaultTriggers":
		return yaml.Unmarshal([]byte(v), &c.DefaultTriggers)
	case k == "context":
		return yaml.Unmarshal([]byte(v), &c.Context)
	case strings.HasPrefix(k, "defaultTriggers."):
		var list []string
		if err := yaml.Unmarshal([]byte(v), &list); err != nil {
			return err
		}
		c.ServiceDefaultTriggers[strings.TrimPrefix(k, "defaultTriggers.")] = list
	case strings.HasPrefix(k, "trigger."):
		name := strings.TrimPrefix(k, "trigger.")
		conds, err := parseTrigger(v)
		if err != nil {
			return err
		}
		c.Triggers[name] = conds
	case strings.HasPrefix(k, "template."):
		name := strings.TrimPrefix(k, "template.")
		t, err := parseTemplate(name, v, funcs)
		if err != nil {
			return err
		}
		c.Templates[name] = t
	case strings.HasPrefix(k, "service."):
		parts := strings.Split(k, ".")
		var typ, name string
		switch len(parts) {
		case 2:
			typ, name = parts[1], parts[1]
		case 3:
			typ, name = parts[1], parts[2]
		default:
			return fmt.Errorf("a service key is service.<type> or service.<type>.<name>")
		}
		svc, err := parseService(typ, v, secret, c.Masks)
		if err != nil {
			return err
		}
		c.Services[name] = svc
	}
	return nil
}

// catalog is the compiled catalog, shared by every Config (compiled
// conditions and templates are safe for concurrent use).
type catalog struct {
	triggers  map[string][]*Condition
	templates map[string]*Template
}

// compiledCatalog compiles the catalog once.
var compiledCatalog = sync.OnceValue(func() catalog {
	cat := catalog{triggers: map[string][]*Condition{}, templates: map[string]*Template{}}
	for name, text := range catalogTriggers {
		conds, err := parseTrigger(text)
		if err != nil {
			panic(fmt.Sprintf("catalog trigger %s: %v", name, err)) // a bug, caught by every test
		}
		cat.triggers[name] = conds
	}
	for name, e := range catalogEntries {
		t, err := parseTemplate(name, catalogTemplate(e), funcMap())
		if err != nil {
			panic(fmt.Sprintf("catalog template %s: %v", name, err)) // a bug, caught by every test
		}
		cat.templates[name] = t
	}
	return cat
})

// ProblemList describes Problems, sorted by key, masked.
func (c *Config) ProblemList() []string {
	out := make([]string, 0, len(c.Problems))
	for k, err := range c.Problems {
		out = append(out, k+": "+c.Masks.String(err.Error()))
	}
	sort.Strings(out)
	return out
}

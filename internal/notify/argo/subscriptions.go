package argo

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// Annotation keys of Argo CD notifications.
const (
	// AnnotationPrefix starts every notifications annotation.
	AnnotationPrefix = "notifications.argoproj.io"
	// SubscribePrefix starts a subscription annotation:
	// notifications.argoproj.io/subscribe.<trigger>.<service>: <recipient>[;<recipient>...],
	// or subscribe.<service> for the default triggers.
	SubscribePrefix = AnnotationPrefix + "/subscribe."
	// SubscriptionsAnnotation holds subscriptions as YAML:
	// [{trigger: [...], destinations: [{service, recipients: [...]}]}].
	SubscriptionsAnnotation = AnnotationPrefix + "/subscriptions"
	// NotifiedAnnotation holds what was already sent (a JSON map of
	// state keys to Unix times), as upstream keeps it.
	NotifiedAnnotation = "notified." + AnnotationPrefix
)

// Destination is a service (by its name in the ConfigMap) and a
// recipient (a channel, an address, a Teams recipient name; "" for a
// webhook).
type Destination struct {
	Service   string `json:"service"`
	Recipient string `json:"recipient"`
}

// String names the destination in messages.
func (d Destination) String() string {
	if d.Recipient == "" {
		return d.Service
	}
	return d.Service + ":" + d.Recipient
}

// Destinations are the destinations of each trigger.
type Destinations map[string][]Destination

// MaxDestinations bounds the destinations of one trigger for one app:
// whoever may annotate an app should not make Tether send thousands of
// messages per change.
const MaxDestinations = 50

// add appends d to trigger's destinations; finish removes repeats. Past
// a few times MaxDestinations the rest is not even collected.
func (ds Destinations) add(trigger string, d Destination) {
	if len(ds[trigger]) < 4*MaxDestinations {
		ds[trigger] = append(ds[trigger], d)
	}
}

// finish sorts each trigger's destinations, drops repeats and keeps at
// most MaxDestinations, reporting the triggers cut short.
func (ds Destinations) finish() []error {
	var errs []error
	for _, t := range ds.Triggers() {
		list := ds[t]
		slices.SortFunc(list, func(a, b Destination) int {
			if c := strings.Compare(a.Service, b.Service); c != 0 {
				return c
			}
			return strings.Compare(a.Recipient, b.Recipient)
		})
		list = slices.Compact(list)
		if len(list) > MaxDestinations {
			errs = append(errs, fmt.Errorf("trigger %s has %d destinations; only the first %d are notified", t, len(list), MaxDestinations))
			list = list[:MaxDestinations]
		}
		ds[t] = list
	}
	return errs
}

// Triggers returns the trigger names, sorted.
func (ds Destinations) Triggers() []string {
	out := make([]string, 0, len(ds))
	for t := range ds {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// DefaultSubscription is an entry of the ConfigMap's `subscriptions`:
// recipients ("<service>:<recipient>") of triggers (the default triggers
// when empty) for the apps whose labels match Selector.
type DefaultSubscription struct {
	Recipients []string `json:"recipients"`
	Triggers   []string `json:"triggers"`
	Selector   string   `json:"selector"`

	selector labels.Selector
}

// parseSubscriptions reads the ConfigMap's `subscriptions`.
func parseSubscriptions(text string) ([]DefaultSubscription, error) {
	var subs []DefaultSubscription
	if err := yaml.Unmarshal([]byte(text), &subs); err != nil {
		return nil, fmt.Errorf("a list of {recipients, triggers, selector} is expected: %w", err)
	}
	for i := range subs {
		sel, err := labels.Parse(subs[i].Selector)
		if err != nil {
			return nil, fmt.Errorf("subscription %d: selector: %w", i, err)
		}
		subs[i].selector = sel
	}
	return subs, nil
}

// annotationSubscription is an entry of the subscriptions annotation.
type annotationSubscription struct {
	Trigger      []string `json:"trigger"`
	Destinations []struct {
		Service    string   `json:"service"`
		Recipients []string `json:"recipients"`
	} `json:"destinations"`
}

// parseRecipients splits an annotation's value: recipients separated by
// ";"; an empty value is one empty recipient (a webhook needs none).
func parseRecipients(v string) []string {
	if v == "" {
		return []string{""}
	}
	var out []string
	for r := range strings.SplitSeq(v, ";") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
		if len(out) > MaxDestinations {
			break // reported by Destinations.finish
		}
	}
	return out
}

// AnnotationDestinations reads the subscriptions in annotations (an
// Application's or an AppProject's). A subscription that names no
// trigger gets its service's default triggers, else defaults. Errors
// name the annotations that could not be read; the others still count.
func AnnotationDestinations(annotations map[string]string, defaults []string, serviceDefaults map[string][]string) (Destinations, []error) {
	ds := Destinations{}
	var errs []error
	addAll := func(trigger, service string, recipients []string) {
		triggers := []string{trigger}
		if trigger == "" {
			triggers = defaults
			if t, ok := serviceDefaults[service]; ok {
				triggers = t
			}
		}
		for _, t := range triggers {
			for _, r := range recipients {
				ds.add(t, Destination{Service: service, Recipient: r})
			}
		}
	}
	for k, v := range annotations {
		switch {
		case strings.HasPrefix(k, SubscribePrefix):
			trigger, service, ok := strings.Cut(k[len(SubscribePrefix):], ".")
			if !ok {
				trigger, service = "", trigger
			} else if i := strings.IndexByte(service, '.'); i >= 0 {
				service = service[:i] // upstream reads only <trigger>.<service>
			}
			if service == "" {
				errs = append(errs, fmt.Errorf("annotation %s names no service", k))
				continue
			}
			addAll(trigger, service, parseRecipients(v))
		case k == SubscriptionsAnnotation:
			var subs []annotationSubscription
			if err := yaml.Unmarshal([]byte(v), &subs); err != nil {
				errs = append(errs, fmt.Errorf("annotation %s: %w", k, err))
				continue
			}
			for _, s := range subs {
				for _, d := range s.Destinations {
					for _, t := range s.Trigger {
						addAll(t, d.Service, d.Recipients)
					}
				}
			}
		}
	}
	return ds, append(errs, ds.finish()...)
}

// globalDestinations are the ConfigMap subscriptions' destinations for
// an app with labels.
func (c *Config) globalDestinations(appLabels map[string]string) Destinations {
	ds := Destinations{}
	for _, s := range c.Subscriptions {
		if s.selector != nil && !s.selector.Matches(labels.Set(appLabels)) {
			continue
		}
		triggers := s.Triggers
		if len(triggers) == 0 {
			triggers = c.DefaultTriggers
		}
		for _, t := range triggers {
			for _, r := range s.Recipients {
				service, recipient, _ := strings.Cut(r, ":")
				ds.add(t, Destination{Service: service, Recipient: recipient})
			}
		}
	}
	return ds
}

// Destinations are every subscription of an app: the ConfigMap's that
// select its labels, its project's annotations and its own.
func (c *Config) Destinations(appLabels, appAnnotations, projectAnnotations map[string]string) (Destinations, []error) {
	ds := c.globalDestinations(appLabels)
	var errs []error
	for _, ann := range []map[string]string{projectAnnotations, appAnnotations} {
		more, e := AnnotationDestinations(ann, c.DefaultTriggers, c.ServiceDefaultTriggers)
		errs = append(errs, e...)
		for t, list := range more {
			for _, d := range list {
				ds.add(t, d)
			}
		}
	}
	return ds, append(errs, ds.finish()...)
}

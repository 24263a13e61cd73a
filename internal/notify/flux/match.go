package flux

import (
	"path"
	"regexp"
	"sync"

	"k8s.io/apimachinery/pkg/labels"

	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
)

// eventNamespaces are the namespaces whose events an Alert may select:
// its own for sources that name none, and those its sources name.
func eventNamespaces(alert *notificationv1.Alert) []string {
	seen := map[string]bool{}
	var out []string
	for _, src := range alert.Spec.EventSources {
		ns := src.Namespace
		if ns == "" {
			ns = alert.Namespace
		}
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// selects reports whether alert forwards ev by its event sources and
// severity, as Flux's notification-controller decides (suspend, the
// message filters and tenancy are checked apart).
func selects(alert *notificationv1.Alert, ev *Event) bool {
	if alert.Spec.EventSeverity == SeverityError && ev.Severity != SeverityError {
		return false
	}
	for _, src := range alert.Spec.EventSources {
		if sourceMatches(alert.Namespace, src, ev) {
			return true
		}
	}
	return false
}

// sourceMatches checks one event source: kind, namespace (the Alert's
// when empty), name (exact, or a glob such as "*" or "app-*") and
// matchLabels against the object's labels.
func sourceMatches(alertNS string, src notificationv1.CrossNamespaceObjectReference, ev *Event) bool {
	ns := src.Namespace
	if ns == "" {
		ns = alertNS
	}
	obj := ev.InvolvedObject
	if src.Kind != obj.Kind || ns != obj.Namespace {
		return false
	}
	if src.Name != obj.Name {
		if ok, err := path.Match(src.Name, obj.Name); err != nil || !ok {
			return false
		}
	}
	if len(src.MatchLabels) == 0 {
		return true
	}
	sel, err := labels.ValidatedSelectorFromSet(src.MatchLabels)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(ev.Subject.Labels))
}

// messageAllowed applies the inclusion list (when set, one expression
// must match) and the exclusion list (none may match). Expressions that do
// not compile match nothing and are returned, to be reported.
func messageAllowed(alert *notificationv1.Alert, msg string) (bool, []string) {
	var invalid []string
	if len(alert.Spec.InclusionList) > 0 {
		included := false
		for _, expr := range alert.Spec.InclusionList {
			re, err := compile(expr)
			if err != nil {
				invalid = append(invalid, expr)
				continue
			}
			if re.MatchString(msg) {
				included = true
				break
			}
		}
		if !included {
			return false, invalid
		}
	}
	for _, expr := range alert.Spec.ExclusionList {
		re, err := compile(expr)
		if err != nil {
			invalid = append(invalid, expr)
			continue
		}
		if re.MatchString(msg) {
			return false, invalid
		}
	}
	return true, invalid
}

// regexps caches compiled filter expressions; Alerts hold few, and the
// cache is emptied when it grows past maxRegexps.
var regexps = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: map[string]*regexp.Regexp{}}

const maxRegexps = 1024

func compile(expr string) (*regexp.Regexp, error) {
	regexps.Lock()
	defer regexps.Unlock()
	if re, ok := regexps.m[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	if len(regexps.m) >= maxRegexps {
		regexps.m = map[string]*regexp.Regexp{}
	}
	regexps.m[expr] = re
	return re, nil
}

// notificationMetadata is the metadata of ev as alert sends it, merged
// as Flux does (RFC 0008), from lowest to highest precedence: the object's
// event.toolkit.fluxcd.io/ annotations, the Alert's eventMetadata, its
// summary, and the controller's own keys (the revision).
func notificationMetadata(alert *notificationv1.Alert, ev *Event) map[string]string {
	out := map[string]string{}
	for k, v := range ev.Subject.Annotations {
		out[k] = v
	}
	for k, v := range alert.Spec.EventMetadata {
		out[k] = v
	}
	if alert.Spec.Summary != "" {
		out[MetaSummary] = alert.Spec.Summary
	}
	for k, v := range ev.Metadata {
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

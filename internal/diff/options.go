package diff

import (
	"reflect"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// CompareOptionsAnnotation holds an object's comma-separated compare
	// options, such as "IgnoreExtraneous".
	CompareOptionsAnnotation = "argocd.argoproj.io/compare-options"
	// SyncOptionsAnnotation holds an object's comma-separated sync options,
	// such as "Prune=false,ServerSideApply=true".
	SyncOptionsAnnotation = "argocd.argoproj.io/sync-options"
)

// CompareOptions are the values of an object's compare-options annotation.
// As in Argo CD, values are split at commas, trimmed, and matched exactly
// and case-sensitively: "ignoreextraneous" is not IgnoreExtraneous.
type CompareOptions struct {
	// IgnoreExtraneous ("IgnoreExtraneous"): the object, when not in the
	// desired state, does not make the Application OutOfSync.
	IgnoreExtraneous bool
	// ServerSideDiff ("ServerSideDiff=true") asks for a server-side diff.
	ServerSideDiff bool
	// ServerSideDiffDisabled ("ServerSideDiff=false") turns server-side diff
	// off even where the controller enables it by default; it wins over
	// ServerSideDiff.
	ServerSideDiffDisabled bool
	// IncludeMutationWebhook ("IncludeMutationWebhook=true") keeps changes
	// made by mutating webhooks in the server-side diff's predicted object.
	IncludeMutationWebhook bool

	values []string
}

// ParseCompareOptions reads obj's compare-options annotation; a nil obj or
// no annotation gives the zero CompareOptions. Argo CD reads the
// server-side diff values on the Application and IgnoreExtraneous on each
// managed object; the parsing is the same.
func ParseCompareOptions(obj metav1.Object) CompareOptions {
	values := annotationValues(obj, CompareOptionsAnnotation)
	return CompareOptions{
		IgnoreExtraneous:       slices.Contains(values, "IgnoreExtraneous"),
		ServerSideDiff:         slices.Contains(values, "ServerSideDiff=true"),
		ServerSideDiffDisabled: slices.Contains(values, "ServerSideDiff=false"),
		IncludeMutationWebhook: slices.Contains(values, "IncludeMutationWebhook=true"),
		values:                 values,
	}
}

// UseServerSideDiff decides server-side diff as Argo CD's controller does:
// on when the controller enables it by default or ServerSideDiff is set,
// unless ServerSideDiffDisabled is set.
func (o CompareOptions) UseServerSideDiff(controllerDefault bool) bool {
	return (controllerDefault || o.ServerSideDiff) && !o.ServerSideDiffDisabled
}

// Has reports whether the annotation lists option exactly.
func (o CompareOptions) Has(option string) bool {
	return slices.Contains(o.values, option)
}

// SyncOptions is a list of sync options such as "CreateNamespace=true",
// "Prune=false" or "PrunePropagationPolicy=foreground": an Application's
// spec.syncPolicy.syncOptions (NewSyncOptions), an object's sync-options
// annotation (ParseSyncOptions), or the two combined (Override). Options
// are matched exactly and case-sensitively, as Argo CD does.
type SyncOptions struct {
	list []string
}

// NewSyncOptions wraps an Application's spec.syncPolicy.syncOptions. The
// entries are kept as written: Argo CD does not trim them either, so
// " Prune=false" is not Prune=false.
func NewSyncOptions(list []string) SyncOptions {
	return SyncOptions{list: slices.Clone(list)}
}

// ParseSyncOptions reads obj's sync-options annotation: values split at
// commas, trimmed, empty and repeated ones dropped. A nil obj or no
// annotation gives an empty SyncOptions.
func ParseSyncOptions(obj metav1.Object) SyncOptions {
	return SyncOptions{list: annotationValues(obj, SyncOptionsAnnotation)}
}

// Has reports whether option, such as "Prune=false", is in the list.
func (o SyncOptions) Has(option string) bool {
	return slices.Contains(o.list, option)
}

// Value returns the value of the first "key=value" option for key, such as
// "foreground" for key "PrunePropagationPolicy".
func (o SyncOptions) Value(key string) (string, bool) {
	for _, opt := range o.list {
		if v, ok := strings.CutPrefix(opt, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Override returns o with resource's options in front and every option of
// o whose key resource also sets dropped, so an object's annotation wins
// over the Application's list key by key ("ServerSideApply=false" on the
// object over "ServerSideApply=true" on the Application). An option's key
// is the text before its first "=", or the whole option.
func (o SyncOptions) Override(resource SyncOptions) SyncOptions {
	out := slices.Clone(resource.list)
	for _, opt := range o.list {
		if !slices.ContainsFunc(resource.list, func(r string) bool { return optionKey(r) == optionKey(opt) }) {
			out = append(out, opt)
		}
	}
	return SyncOptions{list: out}
}

// List returns the options, in order.
func (o SyncOptions) List() []string {
	return slices.Clone(o.list)
}

func optionKey(opt string) string {
	k, _, _ := strings.Cut(opt, "=")
	return k
}

// annotationValues splits a comma-separated annotation as Argo CD does:
// trimmed, without empty or repeated values, in order.
func annotationValues(obj metav1.Object, key string) []string {
	if obj == nil {
		return nil
	}
	if v := reflect.ValueOf(obj); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil // a typed nil, such as a missing *unstructured.Unstructured
	}
	var values []string
	for _, item := range strings.Split(obj.GetAnnotations()[key], ",") {
		v := strings.TrimSpace(item)
		if v != "" && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	return values
}

package diff

import (
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/gobwas/glob"
	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Rule is one entry of an Application's spec.ignoreDifferences (Argo CD's
// ResourceIgnoreDifferences): which objects it applies to and which of
// their fields to leave out of the comparison.
type Rule struct {
	// Group is a glob matched against the object's API group; "" is the
	// core group and "*" matches every group.
	Group string
	// Kind is a glob matched against the object's kind; "*" matches every
	// kind.
	Kind string
	// Name, when set, must equal the object's name exactly.
	Name string
	// Namespace, when set, must equal the object's namespace exactly.
	Namespace string
	// JSONPointers are RFC 6901 pointers to fields to remove, such as
	// "/spec/replicas" or "/metadata/annotations/example.com~1owner".
	JSONPointers []string
	// JQPathExpressions are jq path expressions whose values are removed,
	// such as `.spec.template.spec.containers[] | select(.name == "x") | .image`.
	JQPathExpressions []string
	// ManagedFieldsManagers name field managers whose fields in the live
	// object's metadata.managedFields are left out of the comparison.
	ManagedFieldsManagers []string
}

// Normalizer removes the fields that a set of Rules ignores. It is built
// once by New and is safe for concurrent use.
type Normalizer struct {
	rules    []compiledRule
	timeout  time.Duration
	maxBytes uint64 // per jq expression and object
	log      logr.Logger
}

// compiledRule is a Rule with its globs, pointers and jq code compiled.
type compiledRule struct {
	index       int
	group, kind glob.Glob
	name, ns    string
	pointers    []pointer
	jq          []jqExpr
	managers    []string
}

type jqExpr struct {
	src  string
	code *gojq.Code
}

// Option changes how New builds a Normalizer.
type Option func(*Normalizer)

// WithJQTimeout bounds how long one jq expression may run on one object
// (DefaultJQTimeout when not given or not positive).
func WithJQTimeout(d time.Duration) Option {
	return func(n *Normalizer) {
		if d > 0 {
			n.timeout = d
		}
	}
}

// WithJQMaxBytes bounds the bytes one jq expression may allocate on one
// object (DefaultJQMaxBytes when not given or not positive).
func WithJQMaxBytes(n uint64) Option {
	return func(o *Normalizer) {
		if n > 0 {
			o.maxBytes = n
		}
	}
}

// WithLogger receives, at V(1), each expression skipped for an object
// because it failed there (Argo CD logs these at debug level too).
func WithLogger(l logr.Logger) Option {
	return func(n *Normalizer) { n.log = l }
}

// New compiles rules: globs, JSON pointers and jq expressions are checked
// and compiled once. An invalid one is an error naming the rule by index and
// kind and quoting the expression.
func New(rules []Rule, opts ...Option) (*Normalizer, error) {
	n := &Normalizer{timeout: DefaultJQTimeout, maxBytes: DefaultJQMaxBytes, log: logr.Discard()}
	for _, o := range opts {
		o(n)
	}
	for i, r := range rules {
		c, err := compileRule(i, r)
		if err != nil {
			return nil, fmt.Errorf("ignoreDifferences[%d] (group %q, kind %q): %w", i, r.Group, r.Kind, err)
		}
		n.rules = append(n.rules, c)
	}
	return n, nil
}

func compileRule(i int, r Rule) (compiledRule, error) {
	c := compiledRule{index: i, name: r.Name, ns: r.Namespace, managers: r.ManagedFieldsManagers}
	var err error
	if c.group, err = glob.Compile(r.Group); err != nil {
		return c, fmt.Errorf("group pattern %q: %w", r.Group, err)
	}
	if c.kind, err = glob.Compile(r.Kind); err != nil {
		return c, fmt.Errorf("kind pattern %q: %w", r.Kind, err)
	}
	for _, s := range r.JSONPointers {
		p, err := parsePointer(s)
		if err != nil {
			return c, fmt.Errorf("jsonPointer %q: %w", s, err)
		}
		c.pointers = append(c.pointers, p)
	}
	for _, s := range r.JQPathExpressions {
		code, err := compileJQ(s)
		if err != nil {
			return c, fmt.Errorf("jqPathExpression %q: %w", s, err)
		}
		c.jq = append(c.jq, jqExpr{src: s, code: code})
	}
	return c, nil
}

// matches reports whether the rule applies to obj, as Argo CD decides it:
// globs on group and kind, exact name and namespace when set.
func (c *compiledRule) matches(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return c.group.Match(gvk.Group) && c.kind.Match(gvk.Kind) &&
		(c.name == "" || c.name == obj.GetName()) &&
		(c.ns == "" || c.ns == obj.GetNamespace())
}

// Normalize removes, in place, every field that a matching rule ignores,
// in Argo CD's order:
//
//  1. Fields owned by ManagedFieldsManagers: the leaf fields that those
//     managers own in live's metadata.managedFields are removed from both
//     objects, and so is a list element they own as a whole once that leaves
//     it empty (a sidecar a webhook added). apiVersion, kind, metadata.name
//     and metadata.namespace are never removed. Rules are matched against
//     predicted, and this step runs only when both objects exist, as in
//     Argo CD. Unlike Argo CD, which removes only owned fields whose values
//     differ, every owned field goes; for fields in both objects the outcome
//     of Equal is the same.
//  2. For each object on its own, each matching rule's JSONPointers and then
//     its JQPathExpressions, rule by rule. A pointer to a missing field
//     removes nothing; a jq expression that fails on this object (a runtime
//     error, a timeout, or not exactly one object as result) is skipped for
//     it, as Argo CD does.
//
// Either object may be nil (missing). The error is for managedFields that
// cannot be parsed.
func (n *Normalizer) Normalize(live, predicted *unstructured.Unstructured) error {
	if live != nil && predicted != nil {
		if err := n.removeManaged(live, predicted); err != nil {
			return err
		}
	}
	for _, obj := range []*unstructured.Unstructured{live, predicted} {
		if obj != nil {
			n.removeIgnored(obj)
		}
	}
	return nil
}

func (n *Normalizer) removeManaged(live, predicted *unstructured.Unstructured) error {
	var managers []string
	for i := range n.rules {
		if r := &n.rules[i]; len(r.managers) > 0 && r.matches(predicted) {
			managers = append(managers, r.managers...)
		}
	}
	if len(managers) == 0 {
		return nil
	}
	owned, err := ownedFields(live, managers)
	if err != nil {
		return fmt.Errorf("%s: %w", describe(live), err)
	}
	if owned.Empty() {
		return nil
	}
	removeOwned(live.Object, owned)
	removeOwned(predicted.Object, owned)
	return nil
}

func (n *Normalizer) removeIgnored(obj *unstructured.Unstructured) {
	// Rules are matched before any is applied, so a rule that removes
	// identifying fields cannot change which rules apply after it.
	var matched []*compiledRule
	for i := range n.rules {
		if r := &n.rules[i]; r.matches(obj) {
			matched = append(matched, r)
		}
	}
	for _, r := range matched {
		for _, p := range r.pointers {
			p.remove(obj.Object)
		}
		for _, e := range r.jq {
			out, err := runJQ(e.code, obj.Object, n.timeout, n.maxBytes)
			if err != nil {
				n.log.V(1).Info("jq expression skipped for object", "object", describe(obj),
					"rule", r.index, "expression", e.src, "reason", err.Error())
				continue
			}
			obj.Object = out
		}
	}
}

// describe names obj for messages: "apps/Deployment default/web".
func describe(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	kind := gvk.Kind
	if gvk.Group != "" {
		kind = gvk.Group + "/" + kind
	}
	if ns := obj.GetNamespace(); ns != "" {
		return kind + " " + ns + "/" + obj.GetName()
	}
	return kind + " " + obj.GetName()
}

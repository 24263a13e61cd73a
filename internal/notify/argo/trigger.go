package argo

import (
	"crypto/sha1" //nolint:gosec // a state key, as upstream computes it; not a security hash
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"sigs.k8s.io/yaml"
)

// Condition is one entry of a trigger: when When is true, the templates
// of Send are sent, once per change of When, or once per value of
// OncePer when it is set.
type Condition struct {
	// When is the expr-lang predicate over app (and time, strings, repo,
	// context, secrets).
	When string `json:"when,omitempty"`
	// OncePer, when set, is an expression whose value the notification
	// is sent once for (a revision, a name).
	OncePer string `json:"oncePer,omitempty"`
	// Description says what the condition means.
	Description string `json:"description,omitempty"`
	// Send names the templates the notification is made of.
	Send []string `json:"send,omitempty"`

	when, oncePer *vm.Program
	key           string // "[i].<hash of When>", as upstream keys its state
}

// Result is the outcome of one condition for one app.
type Result struct {
	// Key identifies the condition within its trigger.
	Key string
	// OncePer is the value of the condition's oncePer expression ("" when
	// it has none or when the condition is false).
	OncePer string
	// Templates are the condition's Send.
	Templates []string
	// Triggered is the value of When.
	Triggered bool
	// Err is why When could not be evaluated (it then counts as false).
	Err error
}

// maxExprNodes bounds the size of an expression (expr's own guard against
// pathological input).
const maxExprNodes = 5000

// parseTrigger reads a trigger's YAML: a list of conditions or, as
// Argo CD's examples sometimes write it, a single one.
func parseTrigger(text string) ([]*Condition, error) {
	var list []*Condition
	if err := yaml.Unmarshal([]byte(text), &list); err != nil {
		var one Condition
		if err2 := yaml.Unmarshal([]byte(text), &one); err2 != nil {
			return nil, fmt.Errorf("a list of {when, send, oncePer, description} is expected: %w", err)
		}
		list = []*Condition{&one}
	}
	for i, c := range list {
		if c == nil {
			return nil, fmt.Errorf("condition %d is empty", i)
		}
		when := c.When
		if when == "" {
			when = "false" // as upstream: a condition without `when` never fires
		}
		var err error
		if c.when, err = compileExpr(when); err != nil {
			return nil, fmt.Errorf("condition %d: when: %w", i, err)
		}
		if c.OncePer != "" {
			if c.oncePer, err = compileExpr(c.OncePer); err != nil {
				return nil, fmt.Errorf("condition %d: oncePer: %w", i, err)
			}
		}
		c.key = fmt.Sprintf("[%d].%s", i, hashWhen(c.When))
	}
	return list, nil
}

// compileExpr compiles an expression for evaluation against a dynamic
// environment (the app as a map).
func compileExpr(text string) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("invalid expression: %v", r)
		}
	}()
	return expr.Compile(text, expr.MaxNodes(maxExprNodes))
}

// hashWhen is the digest upstream puts in a condition's state key, so
// that state written by Argo CD keeps meaning the same here.
func hashWhen(when string) string {
	h := sha1.Sum([]byte(when)) //nolint:gosec // see import
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// evaluate runs each condition of a trigger against env.
func evaluate(conds []*Condition, env map[string]any) []Result {
	out := make([]Result, 0, len(conds))
	for _, c := range conds {
		r := Result{Key: c.key, Templates: c.Send}
		v, err := runExpr(c.when, env)
		if err != nil {
			r.Err = fmt.Errorf("when: %w", err)
		}
		r.Triggered, _ = v.(bool)
		if r.Triggered && c.oncePer != nil {
			v, err := runExpr(c.oncePer, env)
			if err != nil {
				r.Err = fmt.Errorf("oncePer: %w", err)
			} else {
				r.OncePer = fmt.Sprintf("%v", v)
			}
		}
		out = append(out, r)
	}
	return out
}

// runExpr evaluates prog; expr recovers panics of the functions it calls
// (time.Parse of a bad timestamp) into errors, and so does this.
func runExpr(prog *vm.Program, env map[string]any) (v any, err error) {
	if prog == nil {
		return nil, errors.New("no expression")
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return expr.Run(prog, env)
}

// Package rbac decides what a caller of the API may do, in Argo CD's model
// and with its policy files: argocd-rbac-cm's policy.csv (and every
// policy.<name>.csv overlay), policy.default, policy.matchMode and scopes,
// the built-in role:admin and role:readonly, and the roles of every valid
// AppProject. Decisions are made by Casbin.
//
// Flux objects are checked the same way, with their namespace in the place
// of a project: resource "kustomizations", "helmreleases" or "sources",
// object "<namespace>/<name>".
package rbac

import (
	"encoding/csv"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	casbinmodel "github.com/casbin/casbin/v2/model"
	"github.com/gobwas/glob"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/project"
)

// Keys of argocd-rbac-cm.
const (
	KeyPolicyCSV     = "policy.csv"
	KeyPolicyDefault = "policy.default"
	KeyMatchMode     = "policy.matchMode"
	KeyScopes        = "scopes"
)

// defaultScopes are the token claims whose values are subjects too, when
// argocd-rbac-cm does not say: the SSO groups.
var defaultScopes = []string{"groups"}

// Subject is who asks: the token's subject (a user name, or
// proj:<project>:<role> for a project token) and the token's claims, of
// which those named by scopes (groups by default) are subjects too.
type Subject struct {
	Name   string
	Claims map[string]any
}

// Inputs are what a Policy is built from.
type Inputs struct {
	// RBAC is argocd-rbac-cm's data; nil when it does not exist.
	RBAC map[string]string
	// Projects are every AppProject; those that do not validate grant
	// nothing.
	Projects []argov1.AppProject
}

// Policy is one built set of rules. It is immutable and safe to share.
type Policy struct {
	enforcer    *casbin.SyncedEnforcer
	defaultRole string
	scopes      []string
	// decisions remembers Casbin's answers (tens of microseconds each; a
	// list of 10,000 apps asks 10,000 times), forgotten all at once past
	// maxDecisions so that made-up object names cannot grow it without
	// bound. A Policy is rebuilt whenever its inputs change.
	decisions  atomic.Pointer[sync.Map]
	remembered atomic.Int64
	// Problems lists the policy lines that were skipped and why.
	Problems []string
}

// Build makes a Policy from in. Lines that do not parse are skipped and
// listed in Problems; they never widen access.
func Build(in Inputs) (*Policy, error) {
	m, err := casbinmodel.NewModelFromString(model)
	if err != nil {
		return nil, fmt.Errorf("rbac model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("rbac enforcer: %w", err)
	}
	matcher := &patternMatcher{regex: in.RBAC[KeyMatchMode] == "regex"}
	e.AddFunction("patternMatch", matcher.match)

	p := &Policy{enforcer: e, defaultRole: strings.TrimSpace(in.RBAC[KeyPolicyDefault]), scopes: parseScopes(in.RBAC[KeyScopes])}
	p.load("built-in policy", builtinPolicy)
	for _, key := range policyKeys(in.RBAC) {
		p.load("argocd-rbac-cm "+key, in.RBAC[key])
	}
	for i := range in.Projects {
		p.loadProject(&in.Projects[i])
	}
	return p, nil
}

// policyKeys are policy.csv and the overlays policy.<name>.csv, in name
// order after policy.csv.
func policyKeys(data map[string]string) []string {
	var keys []string
	for k := range data {
		if k != KeyPolicyCSV && strings.HasPrefix(k, "policy.") && strings.HasSuffix(k, ".csv") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if _, ok := data[KeyPolicyCSV]; ok {
		keys = append([]string{KeyPolicyCSV}, keys...)
	}
	return keys
}

// loadProject adds a valid project's roles: read access to the project,
// their policy lines and their SSO groups (g, <group>, proj:<project>:<role>). An invalid project (for
// instance a role whose policy names another project) grants nothing.
func (p *Policy) loadProject(ap *argov1.AppProject) {
	if len(ap.Spec.Roles) == 0 {
		return
	}
	if err := project.Validate(ap); err != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("AppProject %s: roles ignored: %v", ap.Name, err))
		return
	}
	for _, role := range ap.Spec.Roles {
		subject := RoleSubject(ap.Name, role.Name)
		// Every role may read its own project, as in Argo CD.
		p.add("AppProject "+ap.Name+" role "+role.Name, []string{"p", subject, "projects", "get", ap.Name, "allow"})
		p.load("AppProject "+ap.Name+" role "+role.Name, strings.Join(role.Policies, "\n"))
		for _, group := range role.Groups {
			p.add("AppProject "+ap.Name+" role "+role.Name, []string{"g", strings.Trim(group, `"`), subject})
		}
	}
}

// RoleSubject is the subject of a project role: proj:<project>:<role>.
func RoleSubject(project, role string) string { return "proj:" + project + ":" + role }

// load adds every line of a CSV policy text.
func (p *Policy) load(from, text string) {
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := csv.NewReader(strings.NewReader(line))
		r.TrimLeadingSpace = true
		fields, err := r.Read()
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("%s line %d: %v", from, n+1, err))
			continue
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		p.add(fmt.Sprintf("%s line %d", from, n+1), fields)
	}
}

// add adds one rule: "p, sub, res, act, obj[, allow|deny]" or
// "g, member, role".
func (p *Policy) add(from string, fields []string) {
	var err error
	switch {
	case fields[0] == "p" && len(fields) == 5:
		_, err = p.enforcer.AddPolicy(fields[1], fields[2], fields[3], fields[4], "allow")
	case fields[0] == "p" && len(fields) == 6 && (fields[5] == "allow" || fields[5] == "deny"):
		_, err = p.enforcer.AddPolicy(fields[1], fields[2], fields[3], fields[4], fields[5])
	case fields[0] == "g" && len(fields) == 3:
		_, err = p.enforcer.AddGroupingPolicy(fields[1], fields[2])
	default:
		err = fmt.Errorf("want 'p, <subject>, <resource>, <action>, <object>, allow|deny' or 'g, <subject>, <role>'")
	}
	if err != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("%s: %v", from, err))
	}
}

func parseScopes(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return defaultScopes
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var scopes []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.Trim(strings.TrimSpace(part), `'"`); part != "" {
			scopes = append(scopes, part)
		}
	}
	return scopes
}

// Allow reports whether sub may take action on object of resource: yes
// when the default role, the subject's name or any of its scoped claim
// values is allowed (and not denied) by the rules.
func (p *Policy) Allow(sub Subject, resource, action, object string) bool {
	if p.defaultRole != "" && p.enforce(p.defaultRole, resource, action, object) {
		return true
	}
	if sub.Name != "" && p.enforce(sub.Name, resource, action, object) {
		return true
	}
	for _, scope := range p.scopes {
		for _, v := range claimValues(sub.Claims[scope]) {
			if p.enforce(v, resource, action, object) {
				return true
			}
		}
	}
	return false
}

// maxDecisions bounds the decisions a Policy remembers.
const maxDecisions = 200_000

func (p *Policy) enforce(sub, resource, action, object string) bool {
	key := sub + "\x00" + resource + "\x00" + action + "\x00" + object
	memo := p.decisions.Load()
	if memo == nil {
		p.decisions.CompareAndSwap(nil, &sync.Map{})
		memo = p.decisions.Load()
	}
	if v, ok := memo.Load(key); ok {
		return v.(bool)
	}
	ok, err := p.enforcer.Enforce(sub, resource, action, object)
	allowed := err == nil && ok
	if p.remembered.Add(1) > maxDecisions {
		p.decisions.Store(&sync.Map{})
		p.remembered.Store(0)
		return allowed
	}
	memo.Store(key, allowed)
	return allowed
}

// claimValues reads a claim as a list of strings.
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// patternMatcher matches a policy field (a glob, or in regex mode a
// regular expression, anchored at both ends) against a request field; compiled patterns are kept.
type patternMatcher struct {
	regex    bool
	compiled sync.Map // pattern -> func(string) bool
}

func (m *patternMatcher) match(args ...any) (any, error) {
	if len(args) != 2 {
		return false, fmt.Errorf("patternMatch takes 2 arguments, got %d", len(args))
	}
	val, _ := args[0].(string)
	pattern, _ := args[1].(string)
	if pattern == val || pattern == "*" {
		return true, nil
	}
	if f, ok := m.compiled.Load(pattern); ok {
		return f.(func(string) bool)(val), nil
	}
	f := func(string) bool { return false } // a pattern that does not compile matches nothing
	if re, err := regexp.Compile("^(?:" + pattern + ")$"); m.regex && err == nil {
		f = re.MatchString
	} else if g, err := glob.Compile(pattern); err == nil {
		// Globs also in regex mode for what is not a regular expression,
		// such as the built-in roles' "*/*".
		f = g.Match
	}
	m.compiled.Store(pattern, f)
	return f(val), nil
}

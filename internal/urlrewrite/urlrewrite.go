package urlrewrite

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Rule maps every URL that starts with From to To followed by the rest.
type Rule struct {
	// From is the prefix users write, such as "https://github.com/".
	From string
	// To replaces From, such as "http://mirror.internal/github/".
	To string
}

// Rules is a set of rewrite rules, longest From first. The zero value
// rewrites nothing.
type Rules struct {
	rules []Rule
}

// Parse reads "FROM=TO" pairs. Both sides must be absolute URLs (or
// scp-like Git addresses such as "git@github.com:") and FROM must be unique.
func Parse(pairs []string) (Rules, error) {
	var rules []Rule
	seen := map[string]bool{}
	for _, pair := range pairs {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
		p := redactPair(pair)
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			return Rules{}, fmt.Errorf("url rewrite %q: want FROM=TO", p)
		}
		for _, side := range []string{from, to} {
			if err := checkPrefix(side); err != nil {
				return Rules{}, fmt.Errorf("url rewrite %q: %w", p, err)
			}
		}
		if seen[from] {
			return Rules{}, fmt.Errorf("url rewrite %q: %q is rewritten twice", p, from)
		}
		seen[from] = true
		rules = append(rules, Rule{From: from, To: to})
	}
	sort.SliceStable(rules, func(i, j int) bool { return len(rules[i].From) > len(rules[j].From) })
	return Rules{rules: rules}, nil
}

// FromConfigMapData parses the "rules" key of a ConfigMap: one FROM=TO per
// line; blank lines and lines starting with # are ignored.
func FromConfigMapData(data map[string]string) (Rules, error) {
	var pairs []string
	for _, line := range strings.Split(data["rules"], "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pairs = append(pairs, line)
	}
	return Parse(pairs)
}

// Merge returns the rules of r and other; rules of other win for equal From.
func (r Rules) Merge(other Rules) Rules {
	var pairs []string
	seen := map[string]bool{}
	for _, rule := range append(append([]Rule{}, other.rules...), r.rules...) {
		if !seen[rule.From] {
			seen[rule.From] = true
			pairs = append(pairs, rule.From+"="+rule.To)
		}
	}
	merged, _ := Parse(pairs) // every pair was valid already
	return merged
}

// Rewrite returns u with the longest matching From replaced by its To, or u
// unchanged when no rule matches.
func (r Rules) Rewrite(u string) string {
	for _, rule := range r.rules {
		if rest, ok := strings.CutPrefix(u, rule.From); ok {
			return rule.To + rest
		}
	}
	return u
}

// List returns the rules, longest From first.
func (r Rules) List() []Rule { return append([]Rule(nil), r.rules...) }

// Len returns the number of rules.
func (r Rules) Len() int { return len(r.rules) }

func checkPrefix(s string) error {
	if strings.Contains(s, "@") && !strings.Contains(s, "://") {
		return nil // scp-like Git address, such as git@github.com:org/
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse quotes its input, which may hold a password.
		return fmt.Errorf("%q is not a valid URL", redactURL(s))
	}
	if u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return fmt.Errorf("%q must not carry a password; put credentials in the object's Secret", u.Redacted())
	}
	return nil
}

// redactPair hides any password in a FROM=TO pair before it is quoted in
// an error.
func redactPair(pair string) string {
	from, to, ok := strings.Cut(pair, "=")
	if !ok {
		return redactURL(pair)
	}
	return redactURL(from) + "=" + redactURL(to)
}

func redactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil && strings.Contains(s, "@"):
		return "<unparseable URL>"
	case err != nil || u.User == nil:
		return s
	}
	return u.Redacted()
}

// Package policy chooses the latest image tag by a Flux ImagePolicy's
// rules: a semver range, alphabetical or numerical order, after the
// optional filterTags pattern and extract.
package policy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/Masterminds/semver/v3"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
)

// ErrNoMatch is returned when no tag satisfies the policy.
var ErrNoMatch = errors.New("no tag matches the policy")

// Chooser picks the latest tag among candidates; build one with New.
type Chooser struct {
	choice  imagev1.ImagePolicyChoice
	pattern *regexp.Regexp
	extract string
	semver  *semver.Constraints
}

// New checks a policy and its tag filter. Errors name the field.
func New(choice imagev1.ImagePolicyChoice, filter *imagev1.TagFilter) (*Chooser, error) {
	c := &Chooser{choice: choice}
	set := 0
	if choice.SemVer != nil {
		set++
		cons, err := semver.NewConstraint(choice.SemVer.Range)
		if err != nil {
			return nil, fmt.Errorf("spec.policy.semver.range %q: %w", choice.SemVer.Range, err)
		}
		c.semver = cons
	}
	if choice.Alphabetical != nil {
		set++
		if err := checkOrder(choice.Alphabetical.Order); err != nil {
			return nil, fmt.Errorf("spec.policy.alphabetical.order: %w", err)
		}
	}
	if choice.Numerical != nil {
		set++
		if err := checkOrder(choice.Numerical.Order); err != nil {
			return nil, fmt.Errorf("spec.policy.numerical.order: %w", err)
		}
	}
	if set != 1 {
		return nil, errors.New("spec.policy: exactly one of semver, alphabetical and numerical must be set")
	}
	if filter != nil && filter.Pattern != "" {
		re, err := regexp.Compile(filter.Pattern)
		if err != nil {
			return nil, fmt.Errorf("spec.filterTags.pattern: %w", err)
		}
		c.pattern, c.extract = re, filter.Extract
	}
	return c, nil
}

func checkOrder(o string) error {
	switch o {
	case "", imagev1.OrderAscending, imagev1.OrderDescending:
		return nil
	}
	return fmt.Errorf("%q is neither %s nor %s", o, imagev1.OrderAscending, imagev1.OrderDescending)
}

// candidate is a tag and the value the policy compares.
type candidate struct {
	tag, value string
}

// Latest returns the tag the policy chooses among tags.
func (c *Chooser) Latest(tags []string) (string, error) {
	var cands []candidate
	for _, t := range tags {
		v := t
		if c.pattern != nil {
			m := c.pattern.FindStringSubmatchIndex(t)
			if m == nil {
				continue
			}
			if c.extract != "" {
				v = string(c.pattern.ExpandString(nil, c.extract, t, m))
			}
		}
		cands = append(cands, candidate{tag: t, value: v})
	}
	var best *candidate
	switch {
	case c.semver != nil:
		var bestV *semver.Version
		for i := range cands {
			v, err := semver.NewVersion(cands[i].value)
			if err != nil || !c.semver.Check(v) {
				continue
			}
			if bestV == nil || v.GreaterThan(bestV) || (v.Equal(bestV) && cands[i].tag > best.tag) {
				bestV, best = v, &cands[i]
			}
		}
	case c.choice.Alphabetical != nil:
		desc := c.choice.Alphabetical.Order == imagev1.OrderDescending
		for i := range cands {
			if best == nil || (!desc && cands[i].value > best.value) || (desc && cands[i].value < best.value) {
				best = &cands[i]
			}
		}
	case c.choice.Numerical != nil:
		desc := c.choice.Numerical.Order == imagev1.OrderDescending
		var bestN float64
		for i := range cands {
			n, err := strconv.ParseFloat(cands[i].value, 64)
			if err != nil {
				continue
			}
			if best == nil || (!desc && n > bestN) || (desc && n < bestN) {
				best, bestN = &cands[i], n
			}
		}
	}
	if best == nil {
		return "", ErrNoMatch
	}
	return best.tag, nil
}

// Newest returns up to n tags, newest first by plain string order, as a
// scan's status shows them (Flux shows the latest tags this way).
func Newest(tags []string, n int) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	slices.Reverse(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

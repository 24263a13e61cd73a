// Package versiontag picks, among a repository's tags, the one with the
// highest semantic version within a range, reading tags as Flux's sources
// do: semver with an optional "v" prefix; other tags are skipped. The Git
// fetcher (GitRepository ref.semver) and the OCI client (OCIRepository
// ref.semver, Argo CD oci:// ranges) both use it.
//
//	tag, err := versiontag.Highest([]string{"v1.0.0", "1.2.0", "latest"}, "1.x", nil)
//	// tag == "1.2.0"
package versiontag

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ErrNoMatch is returned when no tag satisfies the range.
var ErrNoMatch = errors.New("no tag matches the semver range")

// Highest returns the tag with the highest version within rangeExpr (a
// Masterminds range) among tags that match filter (nil: all). Versions
// that differ only in build metadata are equal to semver; the greater tag
// name wins then, for a stable answer.
func Highest(tags []string, rangeExpr string, filter *regexp.Regexp) (string, error) {
	constraint, err := semver.NewConstraint(rangeExpr)
	if err != nil {
		return "", fmt.Errorf("semver range %q: %w", rangeExpr, err)
	}
	var matches []*semver.Version
	for _, tag := range tags {
		if filter != nil && !filter.MatchString(tag) {
			continue
		}
		if _, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v")); err != nil {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !constraint.Check(v) {
			continue
		}
		matches = append(matches, v)
	}
	if len(matches) == 0 {
		return "", ErrNoMatch
	}
	sort.Slice(matches, func(i, j int) bool {
		if c := matches[i].Compare(matches[j]); c != 0 {
			return c < 0
		}
		return matches[i].Original() < matches[j].Original()
	})
	return matches[len(matches)-1].Original(), nil
}

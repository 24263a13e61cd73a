package policy

import (
	"errors"
	"strings"
	"testing"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
)

func TestLatest(t *testing.T) {
	podinfo := []string{"6.0.0", "6.0.1", "6.1.0", "latest", "v6.0.3-rc.1", "5.9.9"}
	semverOf := func(r string) imagev1.ImagePolicyChoice {
		return imagev1.ImagePolicyChoice{SemVer: &imagev1.SemVerPolicy{Range: r}}
	}
	tests := []struct {
		name   string
		choice imagev1.ImagePolicyChoice
		filter *imagev1.TagFilter
		tags   []string
		want   string
		err    error
	}{
		{"seed 08: 6.0.x", semverOf("6.0.x"), nil, podinfo, "6.0.1", nil},
		{"a range above all", semverOf(">=7.0.0"), nil, podinfo, "", ErrNoMatch},
		{"v-prefixed and prereleases when the range asks", semverOf(">=6.0.3-0"), nil, podinfo, "6.1.0", nil},
		{"alphabetical asc takes the last", imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{}}, nil,
			[]string{"RELEASE.2021-01-01", "RELEASE.2023-05-01", "RELEASE.2022-12-31"}, "RELEASE.2023-05-01", nil},
		{"alphabetical desc takes the first", imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{Order: "desc"}}, nil,
			[]string{"b", "a", "c"}, "a", nil},
		{"numerical compares numbers, not text", imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{}}, nil,
			[]string{"9", "10", "2", "x"}, "10", nil},
		{"filter and extract a timestamp", imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{}},
			&imagev1.TagFilter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"},
			[]string{"main-abc123-1700000000", "main-def456-1800000000", "dev-999-1900000000", "main-0a0-x"}, "main-def456-1800000000", nil},
		{"filter with semver extract", semverOf("^1.x"), &imagev1.TagFilter{Pattern: `^v(?P<v>.*)-alpine$`, Extract: "$v"},
			[]string{"v1.2.0-alpine", "v1.3.0-alpine", "v1.4.0", "v2.0.0-alpine"}, "v1.3.0-alpine", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.choice, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Latest(tt.tags)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("Latest = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestNewRefusesBadPolicies(t *testing.T) {
	tests := []struct {
		name   string
		choice imagev1.ImagePolicyChoice
		filter *imagev1.TagFilter
		want   string
	}{
		{"no policy", imagev1.ImagePolicyChoice{}, nil, "exactly one"},
		{"two policies", imagev1.ImagePolicyChoice{SemVer: &imagev1.SemVerPolicy{Range: "1.x"}, Numerical: &imagev1.NumericalPolicy{}}, nil, "exactly one"},
		{"a bad range", imagev1.ImagePolicyChoice{SemVer: &imagev1.SemVerPolicy{Range: "one"}}, nil, "spec.policy.semver.range"},
		{"a bad order", imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{Order: "up"}}, nil, "spec.policy.alphabetical.order"},
		{"a bad pattern", imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{}}, &imagev1.TagFilter{Pattern: "("}, "spec.filterTags.pattern"},
	}
	for _, tt := range tests {
		if _, err := New(tt.choice, tt.filter); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one naming %q", tt.name, err, tt.want)
		}
	}
}

func TestNewest(t *testing.T) {
	got := Newest([]string{"a", "c", "b", "d"}, 3)
	if strings.Join(got, ",") != "d,c,b" {
		t.Errorf("Newest = %v", got)
	}
}

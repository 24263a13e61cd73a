package versiontag

import (
	"errors"
	"regexp"
	"testing"
)

func TestHighest(t *testing.T) {
	tags := []string{"1.0.0", "v1.2.0", "1.2.0", "1.10.0-rc.1", "1.3", "latest", "2.0.0", "1.1.0+build"}
	tests := []struct {
		rng     string
		filter  string
		want    string
		wantErr error
	}{
		{rng: "1.x", want: "v1.2.0"},
		{rng: ">=1.0.0 <2.0.0-0", want: "1.10.0-rc.1"},
		{rng: "*", want: "2.0.0"},
		{rng: "*", filter: "^1", want: "1.2.0"},
		{rng: "~1.1", want: "1.1.0+build"},
		{rng: ">=3", wantErr: ErrNoMatch},
	}
	for _, tt := range tests {
		var re *regexp.Regexp
		if tt.filter != "" {
			re = regexp.MustCompile(tt.filter)
		}
		got, err := Highest(tags, tt.rng, re)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("Highest(%q, %q) = %q, %v; want %q, %v", tt.rng, tt.filter, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := Highest(tags, "not a range", nil); err == nil || errors.Is(err, ErrNoMatch) {
		t.Errorf("a bad range gave %v", err)
	}
}

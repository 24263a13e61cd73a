package localbuild

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(s ...string) string { return strings.Join(s, "\n") + "\n" }
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{"equal", lines("a", "b"), lines("a", "b"), ""},
		{"one line changed", lines("1", "2", "3", "4", "5", "6", "7", "8"), lines("1", "2", "3", "4", "X", "6", "7", "8"),
			lines("--- a", "+++ b", "@@ -2,7 +2,7 @@", " 2", " 3", " 4", "-5", "+X", " 6", " 7", " 8")},
		{"added at the end", lines("1", "2"), lines("1", "2", "3"),
			lines("--- a", "+++ b", "@@ -1,2 +1,3 @@", " 1", " 2", "+3")},
		{"from nothing", "", lines("1"),
			lines("--- a", "+++ b", "@@ -0,0 +1,1 @@", "+1")},
		{"two hunks far apart",
			lines("a", "1", "2", "3", "4", "5", "6", "7", "8", "b"),
			lines("A", "1", "2", "3", "4", "5", "6", "7", "8", "B"),
			lines("--- a", "+++ b", "@@ -1,4 +1,4 @@", "-a", "+A", " 1", " 2", " 3", "@@ -7,4 +7,4 @@", " 6", " 7", " 8", "-b", "+B")},
		{"close changes share a hunk",
			lines("a", "1", "2", "3", "4", "5", "6", "b"),
			lines("A", "1", "2", "3", "4", "5", "6", "B"),
			lines("--- a", "+++ b", "@@ -1,8 +1,8 @@", "-a", "+A", " 1", " 2", " 3", " 4", " 5", " 6", "-b", "+B")},
		{"moved line", lines("x", "y", "z"), lines("y", "z", "x"),
			lines("--- a", "+++ b", "@@ -1,3 +1,3 @@", "-x", " y", " z", "+x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unifiedDiff("a", "b", tc.a, tc.b, 3); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestUnifiedDiffOfLargeTextsStaysBounded(t *testing.T) {
	var a, b strings.Builder
	for i := range 3000 {
		a.WriteString("a" + strings.Repeat("x", i%7) + "\n")
		b.WriteString("b" + strings.Repeat("x", i%7) + "\n")
	}
	got := unifiedDiff("a", "b", a.String(), b.String(), 3)
	if strings.Count(got, "\n-") != 3000 || strings.Count(got, "\n+") != 3001 { // "+++ b" too
		t.Errorf("removed %d, added %d lines", strings.Count(got, "\n-"), strings.Count(got, "\n+"))
	}
}

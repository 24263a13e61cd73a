package output

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
		{"two hunks far apart",
			lines("a", "1", "2", "3", "4", "5", "6", "7", "8", "b"),
			lines("A", "1", "2", "3", "4", "5", "6", "7", "8", "B"),
			lines("--- a", "+++ b", "@@ -1,4 +1,4 @@", "-a", "+A", " 1", " 2", " 3", "@@ -7,4 +7,4 @@", " 6", " 7", " 8", "-b", "+B")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnifiedDiff("a", "b", tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

package output

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// diffContext is how many unchanged lines surround each change.
const diffContext = 3

// UnifiedDiff returns the unified diff of texts a and b, named from and
// to; "" when they are equal.
func UnifiedDiff(from, to, a, b string) (string, error) {
	if a == b {
		return "", nil
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: splitLines(a), B: splitLines(b),
		FromFile: from, ToFile: to, Context: diffContext})
}

// splitLines splits s after each newline, with no empty last line.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

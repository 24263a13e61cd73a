package varsub

import (
	"strings"
	"testing"
)

// FuzzExpand: postBuild substitution runs over every rendered file, which
// a repository's author writes. It must never panic, and text without a
// "$" comes back as it went in.
func FuzzExpand(f *testing.F) {
	for _, seed := range []string{"plain", "${a}", "${a:=x}", "${a:-${b}}", "$${a}", "${a:1:2}", "${a/x/y}", "${", "${a", "${a:=}", "${a,,}", "${#a}", "$$", "${a:99999999999}"} {
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, s string, strict bool) {
		vars := map[string]string{"a": "alpha", "b": "beta", "empty": ""}
		out, err := Expand(s, vars, strict)
		if !strings.Contains(s, "$") && (err != nil || out != s) {
			t.Fatalf("Expand(%q) = %q, %v: text without $ must come back unchanged", s, out, err)
		}
	})
}

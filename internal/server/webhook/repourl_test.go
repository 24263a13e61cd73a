package webhook

import "testing"

func TestNormalizeRepoURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/org/repo", "github.com/org/repo"},
		{"https://github.com/org/repo.git", "github.com/org/repo"},
		{"https://github.com/org/repo/", "github.com/org/repo"},
		{"https://github.com/org/repo.git/", "github.com/org/repo"},
		{"https://user:token@GitHub.com:443/Org/Repo.git", "github.com/org/repo"},
		{"http://github.com/org/repo?x=1#frag", "github.com/org/repo"},
		{"ssh://git@github.com/org/repo.git", "github.com/org/repo"},
		{"ssh://git@github.com:22/org/repo.git", "github.com/org/repo"},
		{"git@github.com:org/repo.git", "github.com/org/repo"},
		{"git@github.com:/org/repo.git", "github.com/org/repo"},
		{"github.com:org/repo", "github.com/org/repo"},
		{"git://github.com/org/repo", "github.com/org/repo"},
		{"github.com/org/repo", "github.com/org/repo"},
		{"localhost:8080/org/repo", "localhost/org/repo"},
		{"https://[::1]:3000/org/repo.git", "[::1]/org/repo"},
		{"://1::", ""},
		{"[1::]/org/repo", "[1::]/org/repo"},
		{"https://gitlab.example.com/group/sub/repo.git", "gitlab.example.com/group/sub/repo"},
		{"https://github.com//org//repo", "github.com/org/repo"},
		{"", ""},
		{"   ", ""},
		{"https://", ""},
		{"git@:repo", ""},
	} {
		if got := NormalizeRepoURL(tc.in); got != tc.want {
			t.Errorf("NormalizeRepoURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestNormalizeRepoURLKeepsReposApart: spellings of different
// repositories never meet.
func TestNormalizeRepoURLKeepsReposApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"https://github.com/org/repo", "https://github.com/org/repo2"},
		{"https://github.com/org/repo", "https://gitlab.com/org/repo"},
		{"https://github.com/org/repo", "https://github.com/other/repo"},
		{"https://github.com/org/repo", "https://github.com/org/repo/sub"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.github.git"},
	} {
		if NormalizeRepoURL(pair[0]) == NormalizeRepoURL(pair[1]) {
			t.Errorf("%q and %q normalize alike (%q)", pair[0], pair[1], NormalizeRepoURL(pair[0]))
		}
	}
}

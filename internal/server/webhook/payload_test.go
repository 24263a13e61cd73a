package webhook

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParsePush(t *testing.T) {
	for _, tc := range []struct {
		provider, file string
		want           []Push
	}{
		{GitHub, "github-push.json", []Push{{Provider: GitHub,
			URLs: []string{"https://github.com/example/guestbook", "https://github.com/example/guestbook.git",
				"git@github.com:example/guestbook.git", "git://github.com/example/guestbook.git"},
			Ref: "refs/heads/main", After: "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5", DefaultBranch: "main",
			Changed: []string{"apps/one/new.yaml", "apps/two/cm.yaml", "README.md", "apps/old/x.yaml"}, FilesKnown: true}}},
		{GitLab, "gitlab-push.json", []Push{{Provider: GitLab,
			URLs: []string{"https://gitlab.example.com/group/sub/guestbook", "https://gitlab.example.com/group/sub/guestbook.git",
				"git@gitlab.example.com:group/sub/guestbook.git", "https://gitlab.example.com/group/sub/guestbook"},
			Ref: "refs/heads/develop", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", DefaultBranch: "main",
			Changed: []string{"a.yaml"}, FilesKnown: true}}},
		{Gitea, "gitea-push.json", []Push{{Provider: Gitea,
			URLs: []string{"https://gitea.example.com/ops/guestbook", "https://gitea.example.com/ops/guestbook.git",
				"ssh://git@gitea.example.com:2222/ops/guestbook.git"},
			Ref: "refs/tags/v1.2.0", After: "bffeb74224043ba2feb48d137756c8a9331c449a", DefaultBranch: "main"}}},
		{Bitbucket, "bitbucket-push.json", []Push{
			{Provider: Bitbucket, URLs: []string{"https://bitbucket.org/team/guestbook"}, Ref: "refs/heads/main",
				After: "709d658dc5b6d6afcd46049c2f332ee3f515a67d", DefaultBranch: "main"},
			{Provider: Bitbucket, URLs: []string{"https://bitbucket.org/team/guestbook"}, Ref: "refs/tags/v2",
				After: "709d658dc5b6d6afcd46049c2f332ee3f515a67d", DefaultBranch: "main"}}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			got, err := ParsePush(tc.provider, readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParsePush:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParsePushMalformed: bodies of the wrong shape are errors or no
// push, never a panic (CVE-2025-59531, CVE-2025-59537: a nil field in a
// crafted payload crashed Argo CD's server).
func TestParsePushMalformed(t *testing.T) {
	for _, provider := range []string{GitHub, GitLab, Bitbucket, Gitea, Gogs} {
		for _, body := range []string{
			``, `null`, `[]`, `"x"`, `{`, `{}`,
			`{"repository":null,"ref":null,"commits":null}`,
			`{"ref":"refs/heads/main"}`,
			`{"ref":"main","repository":{"html_url":"https://x/y"}}`,
			`{"push":{"changes":[null,{"new":null},{"new":{}}]},"repository":{"links":null,"mainbranch":null}}`,
			`{"push":{"changes":{}}}`,
			`{"project":null,"repository":[]}`,
		} {
			if pushes, err := ParsePush(provider, []byte(body)); err == nil && len(pushes) > 0 {
				t.Errorf("%s %q: got %+v", provider, body, pushes)
			}
		}
	}
	// Null commits are skipped, not dereferenced.
	body := `{"commits":[null,{"added":null}],"ref":"refs/heads/x","repository":{"html_url":"https://x/y"}}`
	if pushes, err := ParsePush(GitHub, []byte(body)); err != nil || len(pushes) != 1 || len(pushes[0].Changed) != 0 {
		t.Errorf("null commits: %+v, %v", pushes, err)
	}
}

func TestChangedFilesBounds(t *testing.T) {
	if _, known := changedFiles(nil, 0); known {
		t.Error("no commits counted as every file known")
	}
	if _, known := changedFiles([]commitFiles{{Added: []string{"a"}}}, 5); known {
		t.Error("a cut list of commits counted as every file known")
	}
	many := make([]string, maxChangedFiles+1)
	for i := range many {
		many[i] = strings.Repeat("x", 1+i%7) + string(rune('a'+i%26)) + "/" + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
	}
	if _, known := changedFiles([]commitFiles{{Modified: many}}, 1); known {
		t.Error("more than maxChangedFiles counted as every file known")
	}
	files, known := changedFiles([]commitFiles{{Added: []string{"a", "b"}}, {Modified: []string{"a"}, Removed: []string{""}}}, 2)
	if !known || !reflect.DeepEqual(files, []string{"a", "b"}) {
		t.Errorf("changedFiles = %v, %v", files, known)
	}
}

// FuzzParsePush: no payload makes a parser or the matching that follows
// it panic.
func FuzzParsePush(f *testing.F) {
	for _, seed := range []struct{ provider, file string }{
		{GitHub, "github-push.json"}, {GitLab, "gitlab-push.json"}, {Gitea, "gitea-push.json"}, {Bitbucket, "bitbucket-push.json"},
	} {
		f.Add(seed.provider, readTestdata(f, seed.file))
	}
	f.Add(Gogs, []byte(`{"ref":"refs/heads/x","repository":{"clone_url":"git@h:/a.git"},"commits":[{"added":["../x"]}]}`))
	f.Fuzz(func(t *testing.T, provider string, body []byte) {
		pushes, err := ParsePush(provider, body)
		if err != nil {
			return
		}
		for i := range pushes {
			p := &pushes[i]
			if len(p.URLs) == 0 || !strings.HasPrefix(p.Ref, "refs/") {
				t.Fatalf("kept a push without repository or ref: %+v", p)
			}
			if len(p.Changed) > maxChangedFiles {
				t.Fatalf("%d changed files kept", len(p.Changed))
			}
			for _, u := range p.URLs {
				_ = NormalizeRepoURL(u)
			}
			_ = RevisionMatches("HEAD", p)
			_ = PathsChanged("/a;b/*;..", "apps", p.Changed, p.FilesKnown)
		}
	})
}

// FuzzNormalizeRepoURL: normalizing never panics and is idempotent.
func FuzzNormalizeRepoURL(f *testing.F) {
	for _, s := range []string{"https://u:p@GitHub.com:443/Org/Repo.git/", "git@github.com:org/repo.git", "ssh://[::1]:22/x", "a:b:c/d", "@:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeRepoURL(s)
		if n != "" && NormalizeRepoURL(n) != n {
			t.Fatalf("NormalizeRepoURL(%q) = %q, then %q", s, n, NormalizeRepoURL(n))
		}
	})
}

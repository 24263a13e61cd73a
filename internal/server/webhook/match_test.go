package webhook

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

func TestRevisionMatches(t *testing.T) {
	branch := &Push{Ref: "refs/heads/main", DefaultBranch: "main"}
	feature := &Push{Ref: "refs/heads/feature", DefaultBranch: "main"}
	unknownDefault := &Push{Ref: "refs/heads/main"}
	tag := &Push{Ref: "refs/tags/v1.0.0", DefaultBranch: "main"}
	for _, tc := range []struct {
		target string
		push   *Push
		want   bool
	}{
		{"", branch, true},
		{"HEAD", branch, true},
		{"HEAD", feature, false},
		{"", unknownDefault, false},
		{"main", branch, true},
		{"refs/heads/main", branch, true},
		{"refs/tags/main", branch, false},
		{"main", feature, false},
		{"feature", feature, true},
		{"v1.0.0", tag, true},
		{"refs/tags/v1.0.0", tag, true},
		{"HEAD", tag, false},
		{"v1.0.1", tag, false},
		{"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5", branch, false},
	} {
		if got := RevisionMatches(tc.target, tc.push); got != tc.want {
			t.Errorf("RevisionMatches(%q, %s) = %v, want %v", tc.target, tc.push.Ref, got, tc.want)
		}
	}
}

func TestPathsChanged(t *testing.T) {
	changed := []string{"apps/one/deploy.yaml", "shared/values.yaml", "README.md"}
	for _, tc := range []struct {
		name, paths, source string
		changed             []string
		known, want         bool
	}{
		{"no annotation", "", "apps/two", changed, true, true},
		{"files not known", "nothing", "apps/two", changed, false, true},
		{"no files listed", "nothing", "apps/two", nil, true, true},
		{"dot is the source path", ".", "apps/one", changed, true, true},
		{"dot elsewhere", ".", "apps/two", changed, true, false},
		{"relative folder", "../../shared", "apps/two", changed, true, true},
		{"absolute folder", "/shared", "apps/two", changed, true, true},
		{"absolute file", "/README.md", "apps/two", changed, true, true},
		{"one of several", "/nothing; ../one", "apps/two", changed, true, true},
		{"none of several", "/nothing;.;  ", "apps/two", changed, true, false},
		{"prefix is not a folder", "/apps/on", "", changed, true, false},
		{"glob", "/apps/*/deploy.yaml", "", changed, true, true},
		{"glob misses", "/apps/*/service.yaml", "", changed, true, false},
		{"root", "/", "apps/two", changed, true, true},
		{"bad glob is no match", "/apps/[", "", changed, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PathsChanged(tc.paths, tc.source, tc.changed, tc.known); got != tc.want {
				t.Errorf("PathsChanged(%q, %q) = %v, want %v", tc.paths, tc.source, got, tc.want)
			}
		})
	}
}

func TestAppAffected(t *testing.T) {
	push := &Push{URLs: []string{"https://github.com/example/guestbook", "git@github.com:example/guestbook.git"},
		Ref: "refs/heads/main", DefaultBranch: "main", Changed: []string{"apps/one/a.yaml"}, FilesKnown: true}
	app := func(url, rev, path, paths string) *argov1.Application {
		a := &argov1.Application{}
		a.Spec.Source = &argov1.ApplicationSource{RepoURL: url, TargetRevision: rev, Path: path}
		if paths != "" {
			a.Annotations = map[string]string{argov1.AnnotationManifestGeneratePaths: paths}
		}
		return a
	}
	mirror := func(u string) string {
		if u == "https://mirror.internal/guestbook.git" {
			return "https://github.com/example/guestbook.git"
		}
		return u
	}
	for _, tc := range []struct {
		name string
		app  *argov1.Application
		want bool
	}{
		{"same repo, HEAD", app("https://github.com/example/guestbook.git", "HEAD", "apps/two", ""), true},
		{"ssh spelling", app("ssh://git@github.com/Example/Guestbook", "main", "", ""), true},
		{"other repo", app("https://github.com/example/other.git", "HEAD", "", ""), false},
		{"other branch", app("https://github.com/example/guestbook.git", "release", "", ""), false},
		{"paths match", app("https://github.com/example/guestbook", "main", "apps/one", "."), true},
		{"paths do not match", app("https://github.com/example/guestbook", "main", "apps/two", "."), false},
		{"mirror rewrite", app("https://mirror.internal/guestbook.git", "main", "", ""), true},
		{"helm chart", &argov1.Application{Spec: argov1.ApplicationSpec{Source: &argov1.ApplicationSource{
			RepoURL: "https://github.com/example/guestbook", Chart: "guestbook", TargetRevision: "main"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppAffected(tc.app, push, mirror); got != tc.want {
				t.Errorf("AppAffected = %v, want %v", got, tc.want)
			}
		})
	}
	multi := &argov1.Application{Spec: argov1.ApplicationSpec{Sources: []argov1.ApplicationSource{
		{RepoURL: "https://github.com/example/other", TargetRevision: "main"},
		{RepoURL: "https://github.com/example/guestbook", TargetRevision: "main", Ref: "values"},
	}}}
	if !AppAffected(multi, push, nil) {
		t.Error("a multi-source app with the pushed repository as its values source was not affected")
	}
}

func TestGitRepositoryAffected(t *testing.T) {
	branch := &Push{URLs: []string{"https://github.com/example/guestbook"}, Ref: "refs/heads/main"}
	master := &Push{URLs: []string{"https://github.com/example/guestbook"}, Ref: "refs/heads/master"}
	tag := &Push{URLs: []string{"https://github.com/example/guestbook"}, Ref: "refs/tags/v1.0.0"}
	repo := func(url string, ref *sourcev1.GitRepositoryRef, suspend bool) *sourcev1.GitRepository {
		return &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "r"},
			Spec: sourcev1.GitRepositorySpec{URL: url, Reference: ref, Suspend: suspend}}
	}
	const url = "https://github.com/example/guestbook.git"
	for _, tc := range []struct {
		name string
		repo *sourcev1.GitRepository
		push *Push
		want bool
	}{
		{"branch", repo(url, &sourcev1.GitRepositoryRef{Branch: "main"}, false), branch, true},
		{"other branch", repo(url, &sourcev1.GitRepositoryRef{Branch: "dev"}, false), branch, false},
		{"no ref follows master", repo(url, nil, false), master, true},
		{"no ref, main pushed", repo(url, nil, false), branch, false},
		{"tag", repo(url, &sourcev1.GitRepositoryRef{Tag: "v1.0.0"}, false), tag, true},
		{"tag vs branch", repo(url, &sourcev1.GitRepositoryRef{Tag: "main"}, false), branch, false},
		{"semver", repo(url, &sourcev1.GitRepositoryRef{SemVer: ">=1.0.0"}, false), tag, true},
		{"semver vs branch", repo(url, &sourcev1.GitRepositoryRef{SemVer: ">=1.0.0"}, false), branch, false},
		{"name", repo(url, &sourcev1.GitRepositoryRef{Name: "refs/heads/main"}, false), branch, true},
		{"commit pinned", repo(url, &sourcev1.GitRepositoryRef{Branch: "main", Commit: "abc"}, false), branch, false},
		{"suspended", repo(url, &sourcev1.GitRepositoryRef{Branch: "main"}, true), branch, false},
		{"other repo", repo("https://github.com/example/other", &sourcev1.GitRepositoryRef{Branch: "main"}, false), branch, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GitRepositoryAffected(tc.repo, tc.push, nil); got != tc.want {
				t.Errorf("GitRepositoryAffected = %v, want %v", got, tc.want)
			}
		})
	}
}

package webhook

import (
	"path"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// Push is what a provider's push event says, reduced to what matching
// needs.
type Push struct {
	// Provider is github, gitlab, bitbucket, gitea or gogs.
	Provider string
	// URLs are the repository's addresses as the provider spells them
	// (web, HTTPS clone, SSH clone).
	URLs []string
	// Ref is the full ref pushed: refs/heads/<branch> or refs/tags/<tag>.
	Ref string
	// After is the commit the ref points at after the push, when given.
	After string
	// DefaultBranch is the repository's default branch, when the payload
	// names it; HEAD and empty target revisions follow it.
	DefaultBranch string
	// Changed are the files the pushed commits added, modified or
	// removed, relative to the repository root.
	Changed []string
	// FilesKnown is true when Changed lists every changed file; when
	// false, every path counts as changed.
	FilesKnown bool
}

// Revision is the pushed branch or tag name, without refs/heads/ or
// refs/tags/.
func (p *Push) Revision() string {
	if b, ok := strings.CutPrefix(p.Ref, "refs/heads/"); ok {
		return b
	}
	if t, ok := strings.CutPrefix(p.Ref, "refs/tags/"); ok {
		return t
	}
	return p.Ref
}

// Tag reports whether a tag was pushed.
func (p *Push) Tag() bool { return strings.HasPrefix(p.Ref, "refs/tags/") }

// touchedHead reports whether the push moved the default branch.
func (p *Push) touchedHead() bool {
	return !p.Tag() && p.DefaultBranch != "" && p.Revision() == p.DefaultBranch
}

// sameRepo reports whether url (as written in a spec, or its rewrite) is
// one of the pushed repository's addresses.
func (p *Push) sameRepo(urls ...string) bool {
	for _, u := range urls {
		key := NormalizeRepoURL(u)
		if key == "" {
			continue
		}
		for _, pu := range p.URLs {
			if NormalizeRepoURL(pu) == key {
				return true
			}
		}
	}
	return false
}

// RevisionMatches reports whether an Application source's targetRevision
// follows what p pushed. "" and HEAD follow the default branch (and so
// match nothing when the payload does not name it); refs/heads/x and
// refs/tags/x match that branch or tag; any other name matches a branch
// or tag of that name, as Argo CD does.
func RevisionMatches(target string, p *Push) bool {
	t := strings.TrimSpace(target)
	switch {
	case t == "" || t == "HEAD":
		return p.touchedHead()
	case strings.HasPrefix(t, "refs/"):
		return t == p.Ref
	}
	return t == p.Revision()
}

// PathsChanged reports whether an app whose manifest-generate-paths
// annotation is paths, with source path sourcePath, is affected by the
// changed files. Entries are ';'-separated, relative to the source path
// or, starting with '/', to the repository root; each names a file or a
// folder, or is a glob (path.Match). Without the annotation, or when the
// changed files are not known, every app is affected.
func PathsChanged(paths, sourcePath string, changed []string, known bool) bool {
	if strings.TrimSpace(paths) == "" || !known || len(changed) == 0 {
		return true
	}
	for _, item := range strings.Split(paths, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var want string
		if strings.HasPrefix(item, "/") {
			want = path.Clean(item)
		} else {
			want = path.Join("/", sourcePath, item)
		}
		if want == "/" {
			return true
		}
		for _, f := range changed {
			f = path.Join("/", f)
			if f == want || strings.HasPrefix(f, want+"/") {
				return true
			}
			if ok, err := path.Match(want, f); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// AppAffected reports whether one of app's Git sources is the pushed
// repository at the pushed revision with a changed path. rewrite, when
// not nil, maps a spec URL to the one fetched (--url-rewrite): a push
// reported by the mirror matches too.
func AppAffected(app *argov1.Application, p *Push, rewrite func(string) string) bool {
	annotation := app.Annotations[argov1.AnnotationManifestGeneratePaths]
	for _, src := range app.Spec.GetSources() {
		if src.RepoURL == "" || src.Chart != "" {
			continue
		}
		if !p.sameRepo(src.RepoURL, rewritten(src.RepoURL, rewrite)) || !RevisionMatches(src.TargetRevision, p) {
			continue
		}
		if PathsChanged(annotation, src.Path, p.Changed, p.FilesKnown) {
			return true
		}
	}
	return false
}

// GitRepositoryAffected reports whether repo follows what p pushed: its
// URL is the pushed repository and its ref the pushed branch or tag (no
// ref follows "master", as Flux; a semver range follows every tag; a
// pinned commit nothing).
func GitRepositoryAffected(repo *sourcev1.GitRepository, p *Push, rewrite func(string) string) bool {
	if repo.Spec.Suspend || !p.sameRepo(repo.Spec.URL, rewritten(repo.Spec.URL, rewrite)) {
		return false
	}
	ref := repo.Spec.Reference
	switch {
	case ref == nil || *ref == (sourcev1.GitRepositoryRef{}):
		return !p.Tag() && p.Revision() == "master"
	case ref.Commit != "":
		return false
	case ref.Name != "":
		return ref.Name == p.Ref
	case ref.SemVer != "":
		return p.Tag()
	case ref.Tag != "":
		return p.Tag() && ref.Tag == p.Revision()
	}
	return !p.Tag() && ref.Branch == p.Revision()
}

func rewritten(url string, rewrite func(string) string) string {
	if rewrite == nil {
		return ""
	}
	if r := rewrite(url); r != url {
		return r
	}
	return ""
}

func objectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

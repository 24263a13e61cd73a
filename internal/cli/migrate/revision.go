package migrate

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

var (
	fullSHA = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	// versionTag matches exact versions, which are tags by convention:
	// v1, v1.2, 1.2.3, v1.2.3-rc.1.
	versionTag = regexp.MustCompile(`^v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$`)
)

// gitRef turns an Application's targetRevision into a GitRepository ref.
// Argo CD accepts a branch, a tag, a commit SHA, a semver constraint over
// tags or HEAD in one field; Flux has one field for each. A name can be a
// branch or a tag, which only the remote knows: exact versions (v1.2.3)
// and refs/tags/ names are taken as tags, other names as branches.
// HEAD (or nothing) is the remote's default branch, which Flux follows
// when ref is left out.
func gitRef(rev string) *sourcev1.GitRepositoryRef {
	switch {
	case rev == "" || rev == "HEAD":
		return nil
	case fullSHA.MatchString(rev):
		return &sourcev1.GitRepositoryRef{Commit: rev}
	case strings.HasPrefix(rev, "refs/heads/"):
		return &sourcev1.GitRepositoryRef{Branch: strings.TrimPrefix(rev, "refs/heads/")}
	case strings.HasPrefix(rev, "refs/tags/"):
		return &sourcev1.GitRepositoryRef{Tag: strings.TrimPrefix(rev, "refs/tags/")}
	case strings.HasPrefix(rev, "refs/"):
		return &sourcev1.GitRepositoryRef{Name: rev}
	case versionTag.MatchString(rev):
		return &sourcev1.GitRepositoryRef{Tag: rev}
	case isSemverRange(rev):
		return &sourcev1.GitRepositoryRef{SemVer: rev}
	}
	return &sourcev1.GitRepositoryRef{Branch: rev}
}

// isSemverRange reports whether rev is a version constraint (">=1.2",
// "1.x", "~1.4") rather than a plain name.
func isSemverRange(rev string) bool {
	if !strings.ContainsAny(rev, "*xX^~<>=|, ") {
		return false
	}
	_, err := semver.NewConstraint(rev)
	return err == nil
}

// targetRevision turns a GitRepository ref back into a targetRevision. A
// commit wins over the rest, as in Flux; the branch a commit is looked up
// on has no counterpart and is returned as dropped.
func targetRevision(ref *sourcev1.GitRepositoryRef) (rev, dropped string) {
	switch {
	case ref == nil:
		return "HEAD", ""
	case ref.Commit != "":
		if ref.Branch != "" {
			dropped = "branch"
		}
		return ref.Commit, dropped
	case ref.Name != "":
		return ref.Name, ""
	case ref.SemVer != "":
		return ref.SemVer, ""
	case ref.Tag != "":
		if !versionTag.MatchString(ref.Tag) {
			return "refs/tags/" + ref.Tag, ""
		}
		return ref.Tag, ""
	case ref.Branch != "":
		if versionTag.MatchString(ref.Branch) || fullSHA.MatchString(ref.Branch) {
			return "refs/heads/" + ref.Branch, ""
		}
		return ref.Branch, ""
	}
	return "HEAD", ""
}

// fluxPath writes an Application path the way Flux examples do ("./apps").
func fluxPath(p string) string {
	c := path.Clean("/" + p)
	if c == "/" {
		return "./"
	}
	return "." + c
}

// argoPath writes a Flux path the way Argo CD examples do ("apps", ".").
func argoPath(p string) string {
	c := strings.TrimPrefix(path.Clean("/"+p), "/")
	if c == "" {
		return "."
	}
	return c
}

// parseImage reads an Argo CD kustomize image override,
// "[old_name=]new_name[:tag][@digest]".
func parseImage(s string) (kustomizev1.Image, error) {
	old, ref, renamed := strings.Cut(s, "=")
	if !renamed {
		ref, old = old, ""
	}
	var img kustomizev1.Image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, img.Digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, img.NewTag = ref[:i], ref[i+1:]
	}
	if ref == "" {
		return img, fmt.Errorf("image %q has no name", s)
	}
	img.Name = ref
	if old != "" && old != ref {
		img.Name, img.NewName = old, ref
	}
	return img, nil
}

// formatImage writes a Flux image override in Argo CD's notation.
func formatImage(img kustomizev1.Image) string {
	s := img.Name
	if img.NewName != "" {
		s += "=" + img.NewName
	}
	if img.NewTag != "" {
		s += ":" + img.NewTag
	}
	if img.Digest != "" {
		s += "@" + img.Digest
	}
	return s
}

// parseArgoDuration reads a retry backoff duration: a bare number of
// seconds or a Go duration.
func parseArgoDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// dnsLabel turns s into a name usable for a Kubernetes object.
func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 50 {
		out = strings.TrimRight(out[:50], "-")
	}
	return out
}

// Package imageupdater does what Argo CD Image Updater does for
// Applications that carry its annotations: it scans the listed images'
// tags with the same scanner and policies as Flux's image automation,
// and writes a newer tag back either into the Application's parameters
// (write-back-method argocd) or as a commit of
// .argocd-source-<app>.yaml to the app's repository (write-back-method
// git), which the Application then renders.
package imageupdater

import (
	"fmt"
	"regexp"
	"strings"
)

// Prefix starts every annotation Argo CD Image Updater reads.
const Prefix = "argocd-image-updater.argoproj.io/"

// Annotation names.
const (
	ImageListAnnotation   = Prefix + "image-list"
	WriteBackAnnotation   = Prefix + "write-back-method"
	GitBranchAnnotation   = Prefix + "git-branch"
	strategySuffix        = ".update-strategy"
	allowTagsSuffix       = ".allow-tags"
	ignoreTagsSuffix      = ".ignore-tags"
	kustomizeImageSuffix  = ".kustomize.image-name"
	helmImageNameSuffix   = ".helm.image-name"
	helmImageTagSuffix    = ".helm.image-tag"
	defaultHelmNameParam  = "image.name"
	defaultHelmTagParam   = "image.tag"
	strategySemver        = "semver"
	strategyNewestBuild   = "newest-build"
	strategyAlphabetical  = "alphabetical"
	strategyDigest        = "digest"
	writeBackArgoCD       = "argocd"
	writeBackGit          = "git"
	legacyStrategyLatest  = "latest"
	legacyStrategyName    = "name"
	defaultGitCommitName  = "argocd-image-updater"
	defaultGitCommitEmail = "noreply@argoproj.io"
)

// Image is one entry of the image-list annotation and its settings.
type Image struct {
	// Alias names the entry in the per-image annotations; the image's
	// name when the entry gives none.
	Alias string
	// Name is the image repository as written ("stefanprodan/podinfo").
	Name string
	// Constraint is the semver range, or the tag to follow (digest).
	Constraint string
	// Strategy is semver, newest-build, alphabetical or digest.
	Strategy string
	// Allow keeps only matching tags; Ignore drops tags matching one of
	// its globs.
	Allow  *regexp.Regexp
	Ignore []string
	// KustomizeName is the image name in kustomize's images list.
	KustomizeName string
	// HelmName and HelmTag are the Helm parameters written.
	HelmName, HelmTag string
}

// Settings are an Application's image updater annotations.
type Settings struct {
	Images []Image
	// WriteBack is argocd or git.
	WriteBack string
	// Branch is where Git write-back commits ("" for the app's revision).
	Branch string
}

// Parse reads the annotations; errors name the annotation.
func Parse(ann map[string]string) (*Settings, error) {
	list := strings.TrimSpace(ann[ImageListAnnotation])
	if list == "" {
		return nil, nil
	}
	s := &Settings{WriteBack: writeBackArgoCD, Branch: ann[GitBranchAnnotation]}
	switch wb := ann[WriteBackAnnotation]; {
	case wb == "" || wb == writeBackArgoCD:
	case wb == writeBackGit || strings.HasPrefix(wb, writeBackGit+":"):
		s.WriteBack = writeBackGit
	default:
		return nil, fmt.Errorf("%s %q: use argocd or git", WriteBackAnnotation, wb)
	}
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		img := Image{}
		if alias, rest, ok := strings.Cut(entry, "="); ok {
			img.Alias, entry = strings.TrimSpace(alias), strings.TrimSpace(rest)
		}
		img.Name, img.Constraint = splitConstraint(entry)
		if img.Name == "" {
			return nil, fmt.Errorf("%s: entry %q names no image", ImageListAnnotation, entry)
		}
		if img.Alias == "" {
			img.Alias = img.Name
		}
		get := func(suffix string) string { return strings.TrimSpace(ann[Prefix+img.Alias+suffix]) }
		img.Strategy = get(strategySuffix)
		switch img.Strategy {
		case "":
			img.Strategy = strategySemver
		case legacyStrategyLatest:
			img.Strategy = strategyNewestBuild
		case legacyStrategyName:
			img.Strategy = strategyAlphabetical
		case strategySemver, strategyNewestBuild, strategyAlphabetical, strategyDigest:
		default:
			return nil, fmt.Errorf("%s%s%s %q: use semver, newest-build, alphabetical or digest", Prefix, img.Alias, strategySuffix, img.Strategy)
		}
		if img.Strategy == strategyDigest && img.Constraint == "" {
			return nil, fmt.Errorf("%s: %s uses the digest strategy and needs a tag to follow (image:tag)", ImageListAnnotation, img.Alias)
		}
		if allow := get(allowTagsSuffix); allow != "" {
			re, ok := strings.CutPrefix(allow, "regexp:")
			if !ok {
				return nil, fmt.Errorf("%s%s%s %q: write regexp:<expression>", Prefix, img.Alias, allowTagsSuffix, allow)
			}
			var err error
			if img.Allow, err = regexp.Compile(re); err != nil {
				return nil, fmt.Errorf("%s%s%s: %w", Prefix, img.Alias, allowTagsSuffix, err)
			}
		}
		for _, g := range strings.Split(get(ignoreTagsSuffix), ",") {
			if g = strings.TrimSpace(g); g != "" {
				img.Ignore = append(img.Ignore, g)
			}
		}
		img.KustomizeName = get(kustomizeImageSuffix)
		if img.KustomizeName == "" {
			img.KustomizeName = img.Name
		}
		img.HelmName, img.HelmTag = get(helmImageNameSuffix), get(helmImageTagSuffix)
		if img.HelmName == "" {
			img.HelmName = defaultHelmNameParam
		}
		if img.HelmTag == "" {
			img.HelmTag = defaultHelmTagParam
		}
		s.Images = append(s.Images, img)
	}
	return s, nil
}

// splitConstraint cuts "image[:constraint]": the constraint follows the
// last colon after the last slash (a registry's port is not one).
func splitConstraint(s string) (name, constraint string) {
	slash := strings.LastIndex(s, "/")
	if i := strings.LastIndex(s, ":"); i > slash {
		return s[:i], s[i+1:]
	}
	return s, ""
}

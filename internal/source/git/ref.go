package git

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/tether-gitops/tether/internal/source/versiontag"
)

// DefaultBranch is the branch followed when a Ref sets no field, as in Flux.
const DefaultBranch = "master"

// Ref selects a revision of a repository, with the fields of Flux's
// GitRepositoryRef. When several are set, Commit wins over Name, Name over
// SemVer, SemVer over Tag and Tag over Branch; Branch may accompany Commit
// to say which branch to fetch the commit from. The zero Ref follows
// DefaultBranch.
type Ref struct {
	// Branch follows the head of a branch, such as "main".
	Branch string
	// Tag pins a tag, such as "v1.2.0"; annotated tags are peeled to their
	// commit.
	Tag string
	// SemVer follows the highest tag within a Masterminds semver range,
	// such as ">=1.0.0 <2.0.0". Tags may carry a "v" prefix.
	SemVer string
	// Name follows any reference by its full name, such as
	// "refs/heads/main", "refs/tags/v1.0.0" or "refs/pull/42/head".
	// "HEAD" follows the branch the remote's HEAD names: its default
	// branch, which is what Argo CD's targetRevision HEAD means.
	Name string
	// Commit pins a full 40-character SHA-1 commit hash.
	Commit string
}

// refKind is the field of a Ref that decides what it selects.
type refKind int

const (
	kindBranch refKind = iota
	kindTag
	kindSemVer
	kindName
	kindCommit
)

// kind applies Flux's precedence.
func (r Ref) kind() refKind {
	switch {
	case r.Commit != "":
		return kindCommit
	case r.Name != "":
		return kindName
	case r.SemVer != "":
		return kindSemVer
	case r.Tag != "":
		return kindTag
	default:
		return kindBranch
	}
}

// branch returns the branch to follow, DefaultBranch when none is set.
func (r Ref) branch() string {
	if r.Branch == "" {
		return DefaultBranch
	}
	return r.Branch
}

// String describes the reference for messages, such as "branch 'main'" or
// "semver range '>=1.0.0'".
func (r Ref) String() string {
	switch r.kind() {
	case kindCommit:
		if r.Branch != "" {
			return fmt.Sprintf("commit '%s' on branch '%s'", r.Commit, r.Branch)
		}
		return fmt.Sprintf("commit '%s'", r.Commit)
	case kindName:
		return fmt.Sprintf("ref '%s'", r.Name)
	case kindSemVer:
		return fmt.Sprintf("semver range '%s'", r.SemVer)
	case kindTag:
		return fmt.Sprintf("tag '%s'", r.Tag)
	default:
		return fmt.Sprintf("branch '%s'", r.branch())
	}
}

// validate checks what can be checked without the remote.
func (r Ref) validate() error {
	switch r.kind() {
	case kindCommit:
		if !isFullHash(r.Commit) {
			return fmt.Errorf("commit %q is not a full 40-character SHA-1 hash", r.Commit)
		}
	case kindSemVer:
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return fmt.Errorf("semver range %q: %w", r.SemVer, err)
		}
	case kindName:
		if strings.HasPrefix(r.Name, "/") || strings.HasSuffix(r.Name, "/") {
			return fmt.Errorf("ref %q may not begin or end with '/'", r.Name)
		}
	}
	return nil
}

// isFullHash reports whether s is 40 lower- or upper-case hex digits.
func isFullHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// Resolved is the commit a Ref pointed at when the remote was asked.
type Resolved struct {
	// Commit is the 40-character hash of the commit, peeled from
	// annotated tags.
	Commit string
	// RefName is the full name of the reference followed, such as
	// "refs/heads/main" or "refs/tags/v1.2.0"; "" for a bare commit.
	RefName string
	// Revision is the revision string Flux reports, such as
	// "main@sha1:<hash>", "v1.2.0@sha1:<hash>", "refs/pull/1/head@sha1:<hash>"
	// (for Name) or "sha1:<hash>" (for a bare Commit).
	Revision string
}

// revision formats a commit the way Flux's source-controller reports it:
// the reference name without its "refs/<kind>/" prefix, or the full name
// when absolute is set (Flux does so for Ref.Name), then "@sha1:<hash>".
func revision(refName, commit string, absolute bool) string {
	digest := "sha1:" + commit
	if refName == "" {
		return digest
	}
	if absolute {
		return refName + "@" + digest
	}
	if parts := strings.SplitAfterN(refName, "/", 3); len(parts) == 3 {
		return parts[2] + "@" + digest
	}
	return digest
}

// peeledSuffix marks the peeled entry of an annotated tag in a listing.
const peeledSuffix = "^{}"

// resolveIn finds what ref points at in a remote's listing (full reference
// name -> hash, with peeled tag entries; see listRemote). It returns the
// kind of failure (ErrRefNotFound, ErrNoMatchingTag) with a detail.
func resolveIn(refs map[string]string, ref Ref) (Resolved, error) {
	switch ref.kind() {
	case kindCommit:
		commit := strings.ToLower(ref.Commit)
		if ref.Branch == "" {
			return Resolved{Commit: commit, Revision: revision("", commit, false)}, nil
		}
		name := "refs/heads/" + ref.Branch
		if _, ok := refs[name]; !ok {
			return Resolved{}, ErrRefNotFound
		}
		return Resolved{Commit: commit, RefName: name, Revision: revision(name, commit, false)}, nil
	case kindName:
		hash, target, ok := lookup(refs, ref.Name)
		if !ok {
			return Resolved{}, ErrRefNotFound
		}
		// The revision names the reference as written; the checkout
		// fetches what a symbolic one (HEAD) points at.
		return Resolved{Commit: hash, RefName: target, Revision: revision(ref.Name, hash, true)}, nil
	case kindSemVer:
		tag, err := highestTag(tagNames(refs), ref.SemVer)
		if err != nil {
			return Resolved{}, err
		}
		return resolveName(refs, "refs/tags/"+tag)
	case kindTag:
		return resolveName(refs, "refs/tags/"+ref.Tag)
	default:
		return resolveName(refs, "refs/heads/"+ref.branch())
	}
}

// resolveName resolves a branch or tag by its full name.
func resolveName(refs map[string]string, name string) (Resolved, error) {
	hash, _, ok := lookup(refs, name)
	if !ok {
		return Resolved{}, ErrRefNotFound
	}
	return Resolved{Commit: hash, RefName: name, Revision: revision(name, hash, false)}, nil
}

// lookup returns the commit name points at (the peeled entry of an
// annotated tag when there is one, else the entry itself) and the name of
// the reference that holds it: name, or the target of a symbolic
// reference such as HEAD.
func lookup(refs map[string]string, name string) (hash, target string, ok bool) {
	for range 5 { // symbolic references rarely chain; never loop forever
		if !strings.HasSuffix(name, peeledSuffix) {
			if hash, ok := refs[name+peeledSuffix]; ok {
				return hash, name, true
			}
		}
		hash, ok := refs[name]
		if !ok {
			return "", "", false
		}
		next, symbolic := strings.CutPrefix(hash, "ref: ")
		if !symbolic {
			return hash, name, true
		}
		name = next
	}
	return "", "", false
}

// tagNames lists the tags of a listing, without the "refs/tags/" prefix.
func tagNames(refs map[string]string) []string {
	var tags []string
	for name := range refs {
		if tag, ok := strings.CutPrefix(name, "refs/tags/"); ok && !strings.HasSuffix(tag, peeledSuffix) {
			tags = append(tags, tag)
		}
	}
	return tags
}

// highestTag returns the tag with the highest version within the range,
// reading tags as Flux does (see versiontag.Highest).
func highestTag(tags []string, rangeExpr string) (string, error) {
	tag, err := versiontag.Highest(tags, rangeExpr, nil)
	if errors.Is(err, versiontag.ErrNoMatch) {
		return "", ErrNoMatchingTag
	}
	return tag, err
}

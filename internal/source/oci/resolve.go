package oci

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tether-gitops/tether/internal/source/versiontag"
)

// DefaultTag is pulled when a reference names nothing.
const DefaultTag = "latest"

// Ref selects an artifact. Digest wins over SemVer and SemVer over Tag,
// as in Flux's OCIRepository; an empty Ref is the "latest" tag.
type Ref struct {
	// Tag is a tag name.
	Tag string
	// SemVer is a Masterminds semver range: the highest matching tag.
	SemVer string
	// SemverFilter is a regular expression that a tag must match to be
	// considered for SemVer.
	SemverFilter string
	// Digest is a manifest digest, "sha256:<hex>".
	Digest string
}

// String describes the reference for messages.
func (r Ref) String() string {
	switch {
	case r.Digest != "":
		return "digest '" + r.Digest + "'"
	case r.SemVer != "":
		if r.SemverFilter != "" {
			return fmt.Sprintf("semver range '%s' (tags matching '%s')", r.SemVer, r.SemverFilter)
		}
		return "semver range '" + r.SemVer + "'"
	case r.Tag != "":
		return "tag '" + r.Tag + "'"
	}
	return "tag '" + DefaultTag + "'"
}

// Validate checks the reference without contacting the registry; its
// errors match ErrInvalid.
func (r Ref) Validate() error {
	switch {
	case r.Digest != "":
		if _, err := name.NewDigest("example.invalid/x@" + r.Digest); err != nil {
			return fmt.Errorf("digest %q: %w: %w", r.Digest, ErrInvalid, err)
		}
	case r.SemVer != "":
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return fmt.Errorf("semver range %q: %w: %w", r.SemVer, ErrInvalid, err)
		}
		if _, err := regexp.Compile(r.SemverFilter); err != nil {
			return fmt.Errorf("semverFilter %q: %w: %w", r.SemverFilter, ErrInvalid, err)
		}
	case r.Tag != "":
		if _, err := name.NewTag("example.invalid/x:" + r.Tag); err != nil {
			return fmt.Errorf("tag %q: %w: %w", r.Tag, ErrInvalid, err)
		}
	}
	return nil
}

// Resolved is what a reference names at the moment it was resolved.
type Resolved struct {
	// Tag is the tag the reference chose; empty for a digest.
	Tag string
	// Digest is the manifest's digest, "sha256:<hex>".
	Digest string
	// Revision is Flux's revision of the artifact: "<tag>@<digest>", or
	// the digest alone when no tag was involved.
	Revision string
}

// Resolve finds the digest that ref names in the repository at url
// (oci://<registry>/<path>), reading the tag list for a semver range and
// the manifest's digest otherwise; no layer is downloaded.
func (c *Client) Resolve(ctx context.Context, url string, ref Ref, opts Options) (Resolved, error) {
	if err := ref.Validate(); err != nil {
		return Resolved{}, err
	}
	r, err := c.repository(url, opts)
	if err != nil {
		return Resolved{}, err
	}
	ctx, cancel := withTimeout(ctx, opts)
	defer cancel()
	ropts, err := remoteOptions(ctx, r, opts)
	if err != nil {
		return Resolved{}, err
	}
	tag := ref.Tag
	switch {
	case ref.Digest != "":
		if _, err := remote.Head(r.target.Digest(ref.Digest), ropts...); err != nil {
			return Resolved{}, fmt.Errorf("%s: %s: %w", r.display(), ref, classify(err))
		}
		return Resolved{Digest: ref.Digest, Revision: ref.Digest}, nil
	case ref.SemVer != "":
		tags, err := remote.List(r.target, ropts...)
		if err != nil {
			return Resolved{}, fmt.Errorf("%s: list tags: %w", r.display(), classify(err))
		}
		if tag, err = HighestTag(tags, ref.SemVer, ref.SemverFilter); err != nil {
			return Resolved{}, fmt.Errorf("%s: %w", r.display(), err)
		}
	case tag == "":
		tag = DefaultTag
	}
	desc, err := remote.Head(r.target.Tag(tag), ropts...)
	if err != nil {
		return Resolved{}, fmt.Errorf("%s: tag '%s': %w", r.display(), tag, classify(err))
	}
	d := desc.Digest.String()
	return Resolved{Tag: tag, Digest: d, Revision: tag + "@" + d}, nil
}

// HighestTag returns the tag with the highest version within rangeExpr
// among those matching filter (a regular expression; empty matches all),
// as versiontag.Highest reads tags.
func HighestTag(tags []string, rangeExpr, filter string) (string, error) {
	var re *regexp.Regexp
	if filter != "" {
		var err error
		if re, err = regexp.Compile(filter); err != nil {
			return "", fmt.Errorf("semverFilter %q: %w: %w", filter, ErrInvalid, err)
		}
	}
	tag, err := versiontag.Highest(tags, rangeExpr, re)
	switch {
	case errors.Is(err, versiontag.ErrNoMatch):
		what := fmt.Sprintf("semver range '%s'", rangeExpr)
		if filter != "" {
			what += fmt.Sprintf(" with filter '%s'", filter)
		}
		return "", fmt.Errorf("no tag matches %s among %d tags: %w", what, len(tags), ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return tag, nil
}

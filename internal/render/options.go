package render

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/gobwas/glob"
)

// Mode chooses how a folder becomes objects.
type Mode int

const (
	// ModeAuto builds the folder with kustomize, generating a
	// kustomization.yaml when it has none (Flux's Kustomization).
	ModeAuto Mode = iota
	// ModeDirectory reads the folder's YAML and JSON files as they are (an
	// Argo CD directory source).
	ModeDirectory
	// ModeKustomize builds the folder's kustomization file, which must
	// exist (an Argo CD kustomize source).
	ModeKustomize
)

// String returns the mode's name, as used in messages.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "Auto"
	case ModeDirectory:
		return "Directory"
	case ModeKustomize:
		return "Kustomize"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Defaults for the bounds of one render (GHSA-jhqp-vf4w-rpwq).
const (
	DefaultMaxObjects = 10000
	DefaultMaxBytes   = 50 << 20
)

// Options says which folder of the source to render and how. The zero
// value renders the root with ModeAuto and no overlays.
type Options struct {
	// Path is the folder inside the source root, slash-separated ("" or
	// "./" is the root; a leading "/" is read from the root, as Flux does).
	// It may not leave the root.
	Path string `json:"path,omitempty"`
	// Mode chooses directory or kustomize rendering.
	Mode Mode `json:"mode,omitempty"`

	// Recurse reads subfolders too (ModeDirectory only).
	Recurse bool `json:"recurse,omitempty"`
	// Include, when set, keeps only the files whose path below Path
	// matches this glob, in Argo CD's syntax ("*.yaml", "{a.yaml,b.yaml}";
	// "*" also matches "/"). ModeDirectory only.
	Include string `json:"include,omitempty"`
	// Exclude drops the files whose path below Path matches this glob
	// (ModeDirectory only).
	Exclude string `json:"exclude,omitempty"`

	// TargetNamespace sets the namespace of every namespaced object
	// (kustomize's namespace field).
	TargetNamespace string `json:"targetNamespace,omitempty"`
	// NamePrefix is prepended to every object's name.
	NamePrefix string `json:"namePrefix,omitempty"`
	// NameSuffix is appended to every object's name.
	NameSuffix string `json:"nameSuffix,omitempty"`
	// CommonLabels are kustomize commonLabels: set on every object and, as
	// kustomize does, on selectors and pod templates (Argo CD's
	// kustomize.commonLabels). Keys override the kustomization's own.
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	// LabelsWithoutSelector sets CommonLabels on metadata and not on
	// selectors (Argo CD's labelWithoutSelector).
	LabelsWithoutSelector bool `json:"labelsWithoutSelector,omitempty"`
	// LabelsIncludeTemplates also sets them on pod templates when
	// LabelsWithoutSelector is on (Argo CD's labelIncludeTemplates).
	LabelsIncludeTemplates bool `json:"labelsIncludeTemplates,omitempty"`
	// CommonAnnotations are kustomize commonAnnotations (Argo CD).
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
	// Images change image names, tags and digests (kustomize images).
	Images []Image `json:"images,omitempty"`
	// Patches are strategic merge or JSON 6902 patches.
	Patches []Patch `json:"patches,omitempty"`
	// Replicas set the replica count of the named workloads.
	Replicas []Replica `json:"replicas,omitempty"`
	// Components are kustomize components, relative to Path.
	Components []string `json:"components,omitempty"`
	// IgnoreMissingComponents drops the Components that do not exist.
	IgnoreMissingComponents bool `json:"ignoreMissingComponents,omitempty"`

	// CommonMetadata labels and annotates every object's metadata after
	// the build, selectors untouched (Flux's spec.commonMetadata).
	CommonMetadata *Metadata `json:"commonMetadata,omitempty"`

	// Substitute holds Flux postBuild variables: every ${var} expression
	// in an object is expanded after the build, except in objects labelled
	// or annotated kustomize.toolkit.fluxcd.io/substitute: disabled. With
	// no variables nothing is expanded unless SubstituteAlways.
	Substitute map[string]string `json:"substitute,omitempty"`
	// SubstituteAlways expands even without variables, so that defaults
	// apply (Flux's substituteStrategy: Always).
	SubstituteAlways bool `json:"substituteAlways,omitempty"`
	// StrictSubstitute fails on a variable that is unset and has no
	// default (Flux's StrictPostBuildSubstitutions feature gate).
	StrictSubstitute bool `json:"strictSubstitute,omitempty"`

	// AllowRemoteBases lets kustomizations include remote bases and files
	// (Git or HTTP URLs). Off, they are refused before kustomize runs.
	AllowRemoteBases bool `json:"allowRemoteBases,omitempty"`

	// MaxObjects bounds the objects a render may produce (0: DefaultMaxObjects).
	MaxObjects int `json:"maxObjects,omitempty"`
	// MaxBytes bounds the bytes read from the source (0: DefaultMaxBytes).
	// Kustomize modes load the whole source; ModeDirectory reads only the
	// manifest files it renders.
	MaxBytes int64 `json:"maxBytes,omitempty"`

	// Jsonnet sets the external variables, top-level arguments and
	// library folders of the .jsonnet files (ModeDirectory only).
	Jsonnet *Jsonnet `json:"jsonnet,omitempty"`

	// Decryptor, when set, opens every file the render reads (SOPS
	// decryption); its ID is part of the cache key.
	Decryptor Decryptor `json:"-"`
}

// Metadata is a set of labels and annotations.
type Metadata struct {
	// Labels are added to metadata.labels, replacing same keys.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are added to metadata.annotations, replacing same keys.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Image changes the images named Name: NewName replaces the name, NewTag
// the tag and Digest the tag or digest. "*" in NewName, NewTag or Digest
// keeps the value that the kustomization already has for that image.
type Image struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// Patch is a strategic merge or JSON 6902 patch, inline (Patch) or in a
// file relative to Path (Path), applied to the objects Target selects (to
// the object the patch names when Target is nil).
type Patch struct {
	Patch   string          `json:"patch,omitempty"`
	Path    string          `json:"path,omitempty"`
	Target  *Selector       `json:"target,omitempty"`
	Options map[string]bool `json:"options,omitempty"`
}

// Selector selects objects by group, version, kind, name, namespace and
// label and annotation selectors; empty fields match everything.
type Selector struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version,omitempty"`
	Kind               string `json:"kind,omitempty"`
	Name               string `json:"name,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	LabelSelector      string `json:"labelSelector,omitempty"`
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// Replica sets the replicas of the workloads named Name.
type Replica struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// imageTag is kustomize's rule for "<image>:<tag>" ("edit set image").
var imageTag = regexp.MustCompile(`^(.*):([a-zA-Z0-9._-]*|\*)$`)

// ParseImage reads an image override as Argo CD and "kustomize edit set
// image" write it: "name=newname:tag", "name=newname@digest",
// "name=newname", "name:tag" or "name@digest".
func ParseImage(s string) (Image, error) {
	name, override, renamed := strings.Cut(s, "=")
	if !renamed {
		override = s
	}
	var img Image
	switch ref, digest, ok := strings.Cut(override, "@"); {
	case ok:
		img = Image{NewName: ref, Digest: digest}
	case imageTag.MatchString(override):
		m := imageTag.FindStringSubmatch(override)
		img = Image{NewName: m[1], NewTag: m[2]}
	case renamed && override != "":
		img = Image{NewName: override}
	default:
		return Image{}, fmt.Errorf("image %q: want name=newname:tag, name=newname@digest, name=newname, name:tag or name@digest", s)
	}
	if renamed {
		img.Name = name
	} else {
		img.Name, img.NewName = img.NewName, ""
	}
	if img.Name == "" {
		return Image{}, fmt.Errorf("image %q: no image name", s)
	}
	return img, nil
}

// varName is the rule Flux applies to postBuild variable names.
var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// normalize checks o and returns it with defaults applied and Path cleaned.
func (o Options) normalize() (Options, error) {
	p, err := cleanPath(o.Path)
	if err != nil {
		return o, err
	}
	o.Path = p
	if o.MaxObjects < 0 || o.MaxBytes < 0 {
		return o, fmt.Errorf("MaxObjects and MaxBytes may not be negative")
	}
	if o.MaxObjects == 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	switch o.Mode {
	case ModeDirectory:
		if o.hasKustomizeOptions() {
			return o, fmt.Errorf("mode Directory takes no kustomize or postBuild options: use mode Kustomize or Auto")
		}
		for _, g := range []string{o.Include, o.Exclude} {
			if _, err := glob.Compile(g); err != nil {
				return o, fmt.Errorf("glob %q: %w", g, err)
			}
		}
		if o.Jsonnet, err = o.Jsonnet.check(); err != nil {
			return o, err
		}
	case ModeAuto, ModeKustomize:
		if o.Recurse || o.Include != "" || o.Exclude != "" || o.Jsonnet != nil {
			return o, fmt.Errorf("Recurse, Include, Exclude and Jsonnet apply to mode Directory only, not %s", o.Mode)
		}
	default:
		return o, fmt.Errorf("unknown mode %v", o.Mode)
	}
	return o, o.checkOverlays()
}

func (o Options) hasKustomizeOptions() bool {
	return o.TargetNamespace != "" || o.NamePrefix != "" || o.NameSuffix != "" ||
		len(o.CommonLabels) > 0 || len(o.CommonAnnotations) > 0 || len(o.Images) > 0 ||
		len(o.Patches) > 0 || len(o.Replicas) > 0 || len(o.Components) > 0 ||
		len(o.Substitute) > 0 || o.SubstituteAlways
}

func (o Options) checkOverlays() error {
	for i, img := range o.Images {
		if img.Name == "" {
			return fmt.Errorf("images[%d]: name is required", i)
		}
	}
	for i, p := range o.Patches {
		if (p.Patch == "") == (p.Path == "") {
			return fmt.Errorf("patches[%d]: set exactly one of patch and path", i)
		}
		if p.Path != "" && !isLocalRelative(p.Path) {
			return fmt.Errorf("patches[%d]: path %q must be local and relative", i, p.Path)
		}
	}
	for _, c := range o.Components {
		if !isLocalRelative(c) {
			return fmt.Errorf("component path %q must be local and relative", c)
		}
	}
	for i, r := range o.Replicas {
		if r.Name == "" || r.Count < 0 {
			return fmt.Errorf("replicas[%d]: want a name and a count >= 0", i)
		}
	}
	for k := range o.Substitute {
		if !varName.MatchString(k) {
			return fmt.Errorf("substitute: %q var name is invalid, must match %q", k, varName.String())
		}
	}
	return nil
}

// cleanPath turns a user's folder into a clean relative slash path.
func cleanPath(p string) (string, error) {
	rel := path.Clean(strings.TrimLeft(p, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("path %q: %w", p, ErrOutsideRoot)
	}
	return rel, nil
}

// isLocalRelative is Flux's rule for component paths: no URL, not absolute.
func isLocalRelative(p string) bool {
	return p != "" && !isRemote(p) && !path.IsAbs(p)
}

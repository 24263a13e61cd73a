package project

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/gobwas/glob"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// DefaultName is the name of the project an Application belongs to when
// spec.project is empty.
const DefaultName = "default"

// Project is an AppProject's rules, ready to be asked about one
// Application at a time.
type Project struct {
	// Name is the AppProject's name; it appears in every refusal.
	Name string

	// Spec holds the rules.
	Spec argov1.AppProjectSpec

	// DecryptionSecret names the Secret, in the project's namespace, whose
	// age and OpenPGP keys open the SOPS-encrypted files of the project's
	// Applications (DecryptionSecretAnnotation); "" decrypts nothing.
	DecryptionSecret string

	// ScopedClusters are the clusters registered for this project. They
	// are consulted only when Spec.PermitOnlyProjectScopedClusters is set,
	// in which case a destination must also be one of them.
	ScopedClusters []Cluster
}

// Cluster identifies a registered cluster by name and API server URL.
type Cluster struct {
	// Name is the cluster's name, such as "in-cluster".
	Name string

	// Server is the cluster's API server URL.
	Server string
}

// DecryptionSecretAnnotation on an AppProject opts its Applications in
// to SOPS decryption (Tether's own; Argo CD needs a plugin for it): its
// value names a Secret in the project's namespace holding *.agekey and
// *.asc private keys, as a Flux Kustomization's spec.decryption.secretRef
// does. Only who may edit the project can give its apps a key.
const DecryptionSecretAnnotation = "tether.gitops.dev/sops-decryption-secret"

// New returns the rules of ap.
func New(ap *argov1.AppProject) *Project {
	return &Project{Name: ap.Name, Spec: *ap.Spec.DeepCopy(), DecryptionSecret: ap.Annotations[DecryptionSecretAnnotation]}
}

// Default returns the built-in "default" project, which permits every
// source repository, every destination and every kind of object. Argo CD
// creates it with this spec and uses it when an Application names no
// project; callers use it when no AppProject named "default" exists.
func Default() *Project {
	return &Project{
		Name: DefaultName,
		Spec: argov1.AppProjectSpec{
			SourceRepos:  []string{"*"},
			Destinations: []argov1.ApplicationDestination{{Server: "*", Namespace: "*"}},
			ClusterResourceWhitelist: []argov1.ClusterResourceRestrictionItem{
				{Group: "*", Kind: "*"},
			},
		},
	}
}

// PermitsSource says whether an Application of the project may use the
// repository at repoURL. Both the URL and the patterns of
// spec.sourceRepos are normalised first, so case, a trailing ".git" and
// the "git@host:path" form do not matter; "*" in a pattern stops at '/',
// "**" does not. A pattern starting with "!" that matches the URL refuses
// it outright.
//
// As in Argo CD, a "!" pattern that does not match counts as a match, so
// sourceRepos ["!https://github.com/evil/*"] permits every other repository.
func (p *Project) PermitsSource(repoURL string) bool {
	src := normalizeRepoURL(repoURL)
	permitted := false
	for _, pattern := range p.Spec.SourceRepos {
		var normalized string
		if deny, ok := strings.CutPrefix(pattern, "!"); ok {
			normalized = "!" + normalizeRepoURL(deny)
		} else {
			normalized = normalizeRepoURL(pattern)
		}
		if globMatch(normalized, src, true, '/') {
			permitted = true
		} else if isDenyPattern(normalized) {
			return false
		}
	}
	return permitted
}

// PermitsDestination says whether an Application of the project may
// deploy to d. An entry of spec.destinations matches when its server
// pattern matches d.Server or its name pattern matches d.Name (each only
// when set in d), and its namespace pattern matches d.Namespace. Callers
// should fill in both Server and Name when they know them, as Argo CD
// resolves one from the other before asking. An entry with a "!" pattern
// that rejects d refuses it, whatever other entries allow.
func (p *Project) PermitsDestination(d argov1.ApplicationDestination) bool {
	if !p.destinationMatched(d) {
		return false
	}
	if !p.Spec.PermitOnlyProjectScopedClusters {
		return true
	}
	for _, c := range p.ScopedClusters {
		if c.Name == d.Name || c.Server == d.Server {
			return true
		}
	}
	return false
}

func (p *Project) destinationMatched(d argov1.ApplicationDestination) bool {
	anyMatched, noDenyRejected := false, true
	for _, item := range p.Spec.Destinations {
		nameMatched := d.Name != "" && globMatch(item.Name, d.Name, true)
		serverMatched := d.Server != "" && globMatch(item.Server, d.Server, true)
		namespaceMatched := globMatch(item.Namespace, d.Namespace, true)
		switch {
		case (serverMatched || nameMatched) && namespaceMatched:
			anyMatched = true
		case !nameMatched && isDenyPattern(item.Name),
			!serverMatched && isDenyPattern(item.Server),
			!namespaceMatched && isDenyPattern(item.Namespace):
			noDenyRejected = false
		}
	}
	return anyMatched && noDenyRejected
}

// PermitsSourceNamespace says whether an Application living in
// appNamespace may belong to the project. Applications in the
// controller's own namespace (controlNamespace), or with no namespace yet,
// always may; others only when spec.sourceNamespaces has a glob, or a
// regular expression written between slashes ("/^team-[a-z]+$/"), that
// matches appNamespace.
func (p *Project) PermitsSourceNamespace(appNamespace, controlNamespace string) bool {
	if appNamespace == "" || appNamespace == controlNamespace {
		return true
	}
	for _, pattern := range p.Spec.SourceNamespaces {
		if len(pattern) > 1 && strings.HasPrefix(pattern, "/") && strings.HasSuffix(pattern, "/") {
			if re, err := regexp.Compile(pattern[1 : len(pattern)-1]); err == nil && re.MatchString(appNamespace) {
				return true
			}
		}
		if globMatch(pattern, appNamespace, false) {
			return true
		}
	}
	return false
}

func isDenyPattern(pattern string) bool {
	return strings.HasPrefix(pattern, "!")
}

// globMatch matches val against an Argo CD glob. With allowNegation, a
// pattern "!p" matches whatever p does not. A pattern that does not
// compile matches nothing.
func globMatch(pattern, val string, allowNegation bool, separators ...rune) bool {
	if allowNegation && isDenyPattern(pattern) {
		return !compileMatch(pattern[1:], val, separators...)
	}
	if pattern == "*" {
		return true
	}
	return compileMatch(pattern, val, separators...)
}

func compileMatch(pattern, val string, separators ...rune) bool {
	g, err := glob.Compile(pattern, separators...)
	if err != nil {
		return false
	}
	return g.Match(val)
}

// sshURL recognises "user@host:path" and "ssh://user@host/path".
var sshURL = regexp.MustCompile(`^(ssh://)?([^/:]*?)@[^@]+$`)

// normalizeRepoURL puts a repository URL in the form Argo CD compares:
// trimmed, lower case, "user@host:path" rewritten as "user@host/path",
// without a trailing ".git". A URL that does not parse becomes "".
func normalizeRepoURL(repo string) string {
	repo = strings.ToLower(strings.TrimSpace(repo))
	if sshURL.MatchString(repo) && !strings.HasPrefix(repo, "ssh://") {
		repo = "ssh://" + strings.Replace(repo, ":", "/", 1)
	}
	repo = strings.TrimSuffix(repo, ".git")
	u, err := url.Parse(repo)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.String(), "ssh://")
}

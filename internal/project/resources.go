package project

import (
	"fmt"
	"path/filepath"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// ResourceError says that a project refuses an object, and which rule
// refused it.
type ResourceError struct {
	// Project is the project's name.
	Project string

	// Group and Kind name the object's kind; Group is "" for the core group.
	Group, Kind string

	// Name is the object's name.
	Name string

	// Namespace is set when the object's namespace, rather than its kind,
	// is what the project refuses.
	Namespace string

	// Rule names the field of the AppProject that refused the object, such
	// as "spec.namespaceResourceBlacklist[0]".
	Rule string
}

// Error words the refusal as Argo CD does, followed by the rule.
func (e *ResourceError) Error() string {
	if e.Namespace != "" {
		return fmt.Sprintf("namespace %s is not permitted in project '%s' (%s)", e.Namespace, e.Project, e.Rule)
	}
	return fmt.Sprintf("resource %s:%s is not permitted in project %s (%s)", e.Group, e.Kind, e.Project, e.Rule)
}

// PermitsResource says whether an object of group/kind named name may be
// deployed by the project's Applications, returning a *ResourceError when
// not. Namespaced kinds are allowed unless spec.namespaceResourceWhitelist
// is set and omits them (an empty, non-nil list allows none) or
// spec.namespaceResourceBlacklist lists them. Cluster-scoped kinds must be
// in spec.clusterResourceWhitelist and not in spec.clusterResourceBlacklist;
// entries of those two lists with a name only cover objects whose name
// matches it. Groups, kinds and names are filepath.Match patterns.
func (p *Project) PermitsResource(group, kind, name string, namespaced bool) error {
	rule := p.resourceRule(group, kind, name, namespaced)
	if rule == "" {
		return nil
	}
	return &ResourceError{Project: p.Name, Group: group, Kind: kind, Name: name, Rule: rule}
}

// PermitsObject checks an object of a rendered Application the way Argo
// CD does before it syncs it: its kind with PermitsResource and, when it
// is namespaced, its namespace as a destination on dest's cluster.
// namespace is the namespace the object will be applied to, after
// defaulting to the Application's destination namespace.
func (p *Project) PermitsObject(group, kind, name, namespace string, namespaced bool, dest argov1.ApplicationDestination) error {
	if err := p.PermitsResource(group, kind, name, namespaced); err != nil {
		return err
	}
	if !namespaced {
		return nil
	}
	d := argov1.ApplicationDestination{Server: dest.Server, Name: dest.Name, Namespace: namespace}
	if p.PermitsDestination(d) {
		return nil
	}
	return &ResourceError{
		Project: p.Name, Group: group, Kind: kind, Name: name, Namespace: namespace,
		Rule: "no entry of spec.destinations allows it",
	}
}

// resourceRule returns the rule refusing the object, or "" when none does.
func (p *Project) resourceRule(group, kind, name string, namespaced bool) string {
	if namespaced {
		allow, deny := p.Spec.NamespaceResourceWhitelist, p.Spec.NamespaceResourceBlacklist
		switch {
		case allow != nil && len(allow) == 0:
			return "spec.namespaceResourceWhitelist is empty"
		case allow != nil && groupKindIndex(allow, group, kind) < 0:
			return "not in spec.namespaceResourceWhitelist"
		}
		if i := groupKindIndex(deny, group, kind); i >= 0 {
			return fmt.Sprintf("denied by spec.namespaceResourceBlacklist[%d]", i)
		}
		return ""
	}
	allow, deny := p.Spec.ClusterResourceWhitelist, p.Spec.ClusterResourceBlacklist
	switch {
	case len(allow) == 0:
		return "spec.clusterResourceWhitelist is empty"
	case namedIndex(allow, group, kind, name) < 0:
		return "not in spec.clusterResourceWhitelist"
	}
	if i := namedIndex(deny, group, kind, name); i >= 0 {
		return fmt.Sprintf("denied by spec.clusterResourceBlacklist[%d]", i)
	}
	return ""
}

// groupKindIndex returns the index of the first entry matching group and
// kind, or -1.
func groupKindIndex(list []argov1.GroupKind, group, kind string) int {
	for i, item := range list {
		if pathMatch(item.Kind, kind) && pathMatch(item.Group, group) {
			return i
		}
	}
	return -1
}

// namedIndex returns the index of the first entry matching group, kind
// and, when the entry has one, name; or -1.
func namedIndex(list []argov1.ClusterResourceRestrictionItem, group, kind, name string) int {
	for i, item := range list {
		if pathMatch(item.Kind, kind) && pathMatch(item.Group, group) &&
			(item.Name == "" || pathMatch(item.Name, name)) {
			return i
		}
	}
	return -1
}

func pathMatch(pattern, val string) bool {
	ok, err := filepath.Match(pattern, val)
	return ok && err == nil
}

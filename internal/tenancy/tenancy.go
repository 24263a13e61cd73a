// Package tenancy is the lockdown a platform team sets for the Flux
// objects of its tenants, with Flux's flags: --no-cross-namespace-refs
// (a Kustomization or HelmRelease reads sources of its own namespace
// only), --default-service-account (an object that names no
// serviceAccountName acts as that ServiceAccount of its namespace, not
// with Tether's own rights) and --no-remote-bases (a Kustomization builds
// from the files of its source only, never from remote bases). Both
// controllers ask the same Policy.
package tenancy

import (
	"errors"
	"fmt"
)

// AccessDeniedReason is the Ready condition's reason for a refused
// reference, as Flux reports it.
const AccessDeniedReason = "AccessDenied"

// Policy is the lockdown. The zero value allows what Flux allows by
// default.
type Policy struct {
	// NoCrossNamespaceRefs refuses references to sources in another
	// namespace.
	NoCrossNamespaceRefs bool
	// DefaultServiceAccount, when set, is impersonated by objects that
	// name no service account.
	DefaultServiceAccount string
	// NoRemoteBases refuses Kustomizations whose kustomization files
	// include remote bases or files (URLs such as github.com/org/repo or
	// https://...): only files of the source artifact are built.
	NoRemoteBases bool
}

// AccessDeniedError is a reference the Policy refuses.
type AccessDeniedError struct {
	// Kind, Namespace and Name name the referenced object.
	Kind, Namespace, Name string
}

func (e *AccessDeniedError) Error() string {
	return fmt.Sprintf("can't access '%s/%s/%s', cross-namespace references have been blocked", e.Kind, e.Namespace, e.Name)
}

// IsAccessDenied reports whether err is, or wraps, an AccessDeniedError.
func IsAccessDenied(err error) bool {
	var denied *AccessDeniedError
	return errors.As(err, &denied)
}

// Reference checks that an object of namespace own may read kind
// namespace/name; an empty namespace is own.
func (p Policy) Reference(own, kind, namespace, name string) error {
	if p.NoCrossNamespaceRefs && namespace != "" && namespace != own {
		return &AccessDeniedError{Kind: kind, Namespace: namespace, Name: name}
	}
	return nil
}

// ServiceAccount is the service account an object acts as: the one it
// names, else the default one ("" for Tether's own rights).
func (p Policy) ServiceAccount(named string) string {
	if named != "" {
		return named
	}
	return p.DefaultServiceAccount
}

package application

import (
	"context"
	"fmt"
	"strings"

	"github.com/gobwas/glob"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/project"
)

// Argo CD's sync impersonation: with application.sync.impersonation.enabled
// set to "true" in argocd-cm, every write of a sync (the dry runs that
// validate it, apply, hooks, prune, CreateNamespace) is made as the
// service account that the app's project names for its destination in
// spec.destinationServiceAccounts, so the destination's RBAC limits what
// a tenant's app may do. Tether reads the live state with its own rights,
// as before. The comparison's dry runs are writes to the API server's
// authorizer and run as that service account too (as Argo CD's
// server-side diff does): a sync trusts the comparison's dry runs instead
// of repeating them, so they must be the service account's for the whole
// desired set to be validated as it before anything is written. A project
// that names no service account for the destination makes every such
// write fail with a message naming the project and the destination:
// nothing is written.

// impersonationEnabledKey is argocd-cm's switch for sync impersonation.
const impersonationEnabledKey = "application.sync.impersonation.enabled"

// serviceAccountBadChars may not appear in a defaultServiceAccount (Argo
// CD's list: glob and path characters).
const serviceAccountBadChars = "!*[]{}\\/"

// serviceAccountUser is the user that a sync to server and namespace (of
// an app in appNamespace) impersonates, from a project's
// destinationServiceAccounts: the first entry whose server and namespace
// globs match. Its defaultServiceAccount is "name" (in the destination
// namespace, or the app's own when the destination names none) or
// "namespace:name". An error names the project, the destination and what
// to change.
func serviceAccountUser(proj string, entries []argov1.ApplicationDestinationServiceAccount, server, namespace, appNamespace string) (string, error) {
	for i, e := range entries {
		field := fmt.Sprintf("project '%s' spec.destinationServiceAccounts[%d]", proj, i)
		serverOK, err := globMatches(e.Server, server)
		if err != nil {
			return "", fmt.Errorf("%s.server: invalid glob pattern %q: %w", field, e.Server, err)
		}
		namespaceOK, err := globMatches(e.Namespace, namespace)
		if err != nil {
			return "", fmt.Errorf("%s.namespace: invalid glob pattern %q: %w", field, e.Namespace, err)
		}
		if !serverOK || !namespaceOK {
			continue
		}
		sa := strings.TrimSpace(e.DefaultServiceAccount)
		saNamespace, name, qualified := strings.Cut(sa, ":")
		if !qualified {
			saNamespace, name = namespace, sa
			if saNamespace == "" {
				saNamespace = appNamespace
			}
		}
		if saNamespace == "" || name == "" || strings.ContainsAny(sa, serviceAccountBadChars+" \t\n") || strings.Contains(name, ":") {
			return "", fmt.Errorf("%s.defaultServiceAccount %q is not a service account: write \"name\" or \"namespace:name\"", field, e.DefaultServiceAccount)
		}
		return "system:serviceaccount:" + saNamespace + ":" + name, nil
	}
	return "", fmt.Errorf("sync impersonation is enabled (%s in argocd-cm) and project '%s' names no service account for destination server '%s' and namespace '%s': add a matching entry to its spec.destinationServiceAccounts",
		impersonationEnabledKey, proj, server, namespace)
}

// globMatches matches val against an Argo CD glob (no separators, so "*"
// crosses '/' and '.'); an empty pattern matches only an empty value.
func globMatches(pattern, val string) (bool, error) {
	g, err := glob.Compile(pattern)
	if err != nil {
		return false, err
	}
	return g.Match(val), nil
}

// impersonate makes dest's writes those of the service account that the
// project names for it, when argocd-cm enables sync impersonation. A
// project that names none (or names it badly) leaves dest refusing every
// write with the reason. Errors are those of reading argocd-cm or of
// making the impersonating client.
func (r *Reconciler) impersonate(ctx context.Context, dest *destination, proj *project.Project, app *argov1.Application) error {
	on, err := r.syncImpersonation(ctx)
	if err != nil || !on {
		return err
	}
	user, refused := serviceAccountUser(proj.Name, proj.Spec.DestinationServiceAccounts, dest.server, app.Spec.Destination.Namespace, app.Namespace)
	if refused != nil {
		dest.writeAs("", nil, refused)
		return nil
	}
	var cfg *rest.Config
	id := "local|as:" + user
	if dest.local() {
		if r.mgr == nil {
			return fmt.Errorf("impersonate %s: no manager configuration", user)
		}
		cfg = rest.CopyConfig(r.mgr.GetConfig())
	} else {
		name, version := cluster.SplitID(dest.cluster.ID)
		cfg, id = rest.CopyConfig(dest.cluster.Config), name+"|as:"+user+"@"+version
	}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	w, err := r.clusters.For(id, cfg, r.Client.Scheme())
	if err != nil {
		return fmt.Errorf("client impersonating %s on cluster %s: %w", user, dest.name, err)
	}
	dest.writeAs(user, w, nil)
	return nil
}

// splitClient reads (and maps kinds) with Tether's own client and writes
// with another: an impersonating one, or none when refused is set, in
// which case every write, dry run or not, fails with refused.
type splitClient struct {
	client.Client               // reads, scheme and REST mapper
	writer        client.Client // writes; nil when refused
	refused       error
}

// Create creates obj as the writer.
func (c *splitClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if c.refused != nil {
		return c.refused
	}
	return c.writer.Create(ctx, obj, opts...)
}

// Update updates obj as the writer.
func (c *splitClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if c.refused != nil {
		return c.refused
	}
	return c.writer.Update(ctx, obj, opts...)
}

// Patch patches obj as the writer.
func (c *splitClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if c.refused != nil {
		return c.refused
	}
	return c.writer.Patch(ctx, obj, patch, opts...)
}

// Apply applies obj as the writer.
func (c *splitClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if c.refused != nil {
		return c.refused
	}
	return c.writer.Apply(ctx, obj, opts...)
}

// Delete deletes obj as the writer.
func (c *splitClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if c.refused != nil {
		return c.refused
	}
	return c.writer.Delete(ctx, obj, opts...)
}

// DeleteAllOf deletes the matching objects as the writer.
func (c *splitClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	if c.refused != nil {
		return c.refused
	}
	return c.writer.DeleteAllOf(ctx, obj, opts...)
}

// Status writes status subresources as the writer.
func (c *splitClient) Status() client.SubResourceWriter {
	return c.SubResource("status")
}

// SubResource reads a subresource with Tether's client and writes it as
// the writer.
func (c *splitClient) SubResource(name string) client.SubResourceClient {
	sc := splitSubResource{SubResourceReader: c.Client.SubResource(name), refused: c.refused}
	if c.writer != nil {
		sc.writer = c.writer.SubResource(name)
	}
	return sc
}

// splitSubResource is splitClient's subresource client.
type splitSubResource struct {
	client.SubResourceReader
	writer  client.SubResourceWriter // nil when refused
	refused error
}

// Create creates a subresource as the writer.
func (s splitSubResource) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	if s.refused != nil {
		return s.refused
	}
	return s.writer.Create(ctx, obj, sub, opts...)
}

// Update updates a subresource as the writer.
func (s splitSubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if s.refused != nil {
		return s.refused
	}
	return s.writer.Update(ctx, obj, opts...)
}

// Patch patches a subresource as the writer.
func (s splitSubResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if s.refused != nil {
		return s.refused
	}
	return s.writer.Patch(ctx, obj, patch, opts...)
}

// Apply applies a subresource as the writer.
func (s splitSubResource) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	if s.refused != nil {
		return s.refused
	}
	return s.writer.Apply(ctx, obj, opts...)
}

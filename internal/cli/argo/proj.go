package argo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// NewProjCmd returns `proj` and its subcommands.
func NewProjCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "proj",
		Aliases: []string{"project", "projects"},
		Short:   "Manage Argo CD AppProjects",
	}
	conn.AddFlags(cmd.PersistentFlags())
	role := &cobra.Command{Use: "role", Short: "Manage a project's roles"}
	role.AddCommand(projRoleCreateToken(conn))
	cmd.AddCommand(projList(conn), projGet(conn), role)
	return cmd
}

// projects is what proj commands need from Tether, through the API server
// or straight from the cluster (--core).
type projects interface {
	List(ctx context.Context) ([]argov1.AppProject, error)
	Get(ctx context.Context, name string) (*argov1.AppProject, error)
	// CreateToken issues a token for a project role; only the API server
	// can, as it holds the signing key.
	CreateToken(ctx context.Context, project, role string, expiresIn time.Duration, id string) (string, error)
}

// newProjects picks the way the connection options say.
func newProjects(conn *connect.Options) (projects, error) {
	if conn.UseCore() {
		c, err := conn.Kube()
		if err != nil {
			return nil, err
		}
		return &coreProjects{c: c, ns: conn.ArgoNamespace}, nil
	}
	c, err := conn.API()
	if err != nil {
		return nil, err
	}
	return &serverProjects{c: c}, nil
}

// serverProjects calls the API server.
type serverProjects struct{ c *apiclient.Client }

func (s *serverProjects) List(ctx context.Context) ([]argov1.AppProject, error) {
	var list argov1.AppProjectList
	return list.Items, s.c.Do(ctx, http.MethodGet, "/api/v1/projects", nil, &list)
}

func (s *serverProjects) Get(ctx context.Context, name string) (*argov1.AppProject, error) {
	var p argov1.AppProject
	return &p, s.c.Do(ctx, http.MethodGet, "/api/v1/projects/"+apiclient.Escape(name), nil, &p)
}

func (s *serverProjects) CreateToken(ctx context.Context, project, role string, expiresIn time.Duration, id string) (string, error) {
	body := map[string]any{"expiresIn": int64(expiresIn / time.Second), "id": id}
	var out struct {
		Token string `json:"token"`
	}
	path := "/api/v1/projects/" + apiclient.Escape(project) + "/roles/" + apiclient.Escape(role) + "/token"
	if err := s.c.Do(ctx, http.MethodPost, path, body, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", errors.New("the server answered without a token")
	}
	return out.Token, nil
}

// coreProjects reads AppProjects on the cluster with the user's own
// Kubernetes rights.
type coreProjects struct {
	c  client.Client
	ns string
}

func (k *coreProjects) List(ctx context.Context) ([]argov1.AppProject, error) {
	var list argov1.AppProjectList
	return list.Items, k.c.List(ctx, &list, client.InNamespace(k.ns))
}

func (k *coreProjects) Get(ctx context.Context, name string) (*argov1.AppProject, error) {
	var p argov1.AppProject
	return &p, k.c.Get(ctx, client.ObjectKey{Namespace: k.ns, Name: name}, &p)
}

// errTokenNeedsServer answers create-token with --core.
var errTokenNeedsServer = errors.New("project tokens are signed by the API server's key, which --core cannot reach: " +
	"log in with `tether login SERVER` (or pass --server and --auth-token) and run the command without --core, --kubeconfig or --kube-context")

func (k *coreProjects) CreateToken(context.Context, string, string, time.Duration, string) (string, error) {
	return "", errTokenNeedsServer
}

// projectForOutput readies a project to print as a manifest.
func projectForOutput(p *argov1.AppProject) {
	p.APIVersion, p.Kind = argov1.GroupVersion.String(), "AppProject"
	p.ManagedFields = nil
}

func projList(conn *connect.Options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := newProjects(conn)
		if err != nil {
			return err
		}
		items, err := p.List(cmd.Context())
		if err != nil {
			return fmt.Errorf("list projects: %w", err)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			for i := range items {
				projectForOutput(&items[i])
			}
			return output.Objects(w, out, items)
		case "name":
			for _, it := range items {
				fmt.Fprintln(w, it.Name)
			}
			return nil
		case "", "wide":
			rows := make([][]string, 0, len(items))
			for i := range items {
				rows = append(rows, projectRow(&items[i]))
			}
			return output.Table(w, []string{"NAME", "DESCRIPTION", "DESTINATIONS", "SOURCES", "CLUSTER-RESOURCE-WHITELIST",
				"NAMESPACE-RESOURCE-BLACKLIST", "SIGNATURE-KEYS", "ORPHANED-RESOURCES"}, rows)
		}
		return fmt.Errorf("unknown output %q: use wide, name, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, name, json or yaml")
	return cmd
}

// summarize shows one item as itself, more as a count, none as <none>.
func summarize(items []string, plural string) string {
	switch len(items) {
	case 0:
		return "<none>"
	case 1:
		return items[0]
	}
	return fmt.Sprintf("%d %s", len(items), plural)
}

func destinations(p *argov1.AppProject) []string {
	out := make([]string, 0, len(p.Spec.Destinations))
	for _, d := range p.Spec.Destinations {
		server := d.Server
		if server == "" {
			server = d.Name
		}
		out = append(out, server+","+d.Namespace)
	}
	return out
}

func clusterKinds(items []argov1.ClusterResourceRestrictionItem) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.Group+"/"+it.Kind)
	}
	return out
}

func groupKinds(items []argov1.GroupKind) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.Group+"/"+it.Kind)
	}
	return out
}

func signatureKeys(p *argov1.AppProject) []string {
	out := make([]string, 0, len(p.Spec.SignatureKeys))
	for _, k := range p.Spec.SignatureKeys {
		out = append(out, k.KeyID)
	}
	return out
}

func orphanedResources(p *argov1.AppProject) string {
	o := p.Spec.OrphanedResources
	switch {
	case o == nil:
		return "disabled"
	case o.Warn != nil && *o.Warn:
		return "enabled (warn=true)"
	}
	return "enabled (warn=false)"
}

// projectRow is one line of `proj list`, in argocd's columns.
func projectRow(p *argov1.AppProject) []string {
	return []string{p.Name, p.Spec.Description, summarize(destinations(p), "destinations"), summarize(p.Spec.SourceRepos, "repos"),
		summarize(clusterKinds(p.Spec.ClusterResourceWhitelist), "resources"),
		summarize(groupKinds(p.Spec.NamespaceResourceBlacklist), "resources"),
		summarize(signatureKeys(p), "key(s)"), orphanedResources(p)}
}

func projGet(conn *connect.Options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a project",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		p, err := newProjects(conn)
		if err != nil {
			return err
		}
		proj, err := p.Get(cmd.Context(), args[0])
		if err != nil {
			return fmt.Errorf("get project %s: %w", args[0], err)
		}
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			projectForOutput(proj)
			return output.Object(w, out, proj)
		case "", "wide":
			printProject(w, proj)
			return nil
		}
		return fmt.Errorf("unknown output %q: use wide, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}

// printProject prints the lines of `argocd proj get`: one value per line,
// <none> when there is none.
func printProject(w io.Writer, p *argov1.AppProject) {
	field := func(name string, values []string) {
		if len(values) == 0 {
			values = []string{"<none>"}
		}
		fmt.Fprintf(w, "%-29s%s\n", name+":", values[0])
		for _, v := range values[1:] {
			fmt.Fprintf(w, "%-29s%s\n", "", v)
		}
	}
	field("Name", []string{p.Name})
	field("Description", []string{p.Spec.Description})
	field("Destinations", destinations(p))
	field("Repositories", p.Spec.SourceRepos)
	field("Source Namespaces", p.Spec.SourceNamespaces)
	field("Allowed Cluster Resources", clusterKinds(p.Spec.ClusterResourceWhitelist))
	field("Denied Cluster Resources", clusterKinds(p.Spec.ClusterResourceBlacklist))
	field("Allowed Namespaced Resources", groupKinds(p.Spec.NamespaceResourceWhitelist))
	field("Denied Namespaced Resources", groupKinds(p.Spec.NamespaceResourceBlacklist))
	field("Signature keys", signatureKeys(p))
	field("Orphaned Resources", []string{orphanedResources(p)})
	roles := make([]string, 0, len(p.Spec.Roles))
	for _, r := range p.Spec.Roles {
		roles = append(roles, r.Name)
	}
	field("Roles", roles)
}

func projRoleCreateToken(conn *connect.Options) *cobra.Command {
	var expiresIn, id string
	var tokenOnly bool
	cmd := &cobra.Command{
		Use:   "create-token PROJECT ROLE",
		Short: "Issue a token for a project role (needs the API server)",
		Long: "Issue a token for a project role. The API server signs it and records it in the project's status, " +
			"so this command needs the server (a login context or --server), never --core.",
		Args: cobra.ExactArgs(2),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		lifetime, err := parseLifetime(expiresIn)
		if err != nil {
			return fmt.Errorf("--expires-in: %w", err)
		}
		p, err := newProjects(conn)
		if err != nil {
			return err
		}
		project, role := args[0], args[1]
		token, err := p.CreateToken(cmd.Context(), project, role, lifetime, id)
		if err != nil {
			return fmt.Errorf("create a token for role %s of project %s: %w", role, project, err)
		}
		w := cmd.OutOrStdout()
		if tokenOnly {
			fmt.Fprintln(w, token)
			return nil
		}
		claims := tokenClaims(token)
		fmt.Fprintf(w, "Create token succeeded for proj:%s:%s.\n", project, role)
		fmt.Fprintf(w, "  ID: %s\n", claims.ID)
		fmt.Fprintf(w, "  Issued At: %s\n", unixTime(claims.IssuedAt, "Unknown"))
		fmt.Fprintf(w, "  Expires At: %s\n", unixTime(claims.ExpiresAt, "Never"))
		fmt.Fprintf(w, "  Token: %s\n", token)
		return nil
	}
	cmd.Flags().StringVarP(&expiresIn, "expires-in", "e", "0s", `lifetime of the token, e.g. "12h" or "7d" (0s: no expiry)`)
	cmd.Flags().StringVarP(&id, "id", "i", "", "identifier of the token (random by default)")
	cmd.Flags().BoolVarP(&tokenOnly, "token-only", "t", false, "print the token only, for scripts")
	return cmd
}

// parseLifetime reads a Go duration, or a whole number of days ("7d").
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 12h or 7d", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// jwtClaims are the claims `create-token` shows.
type jwtClaims struct {
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// tokenClaims reads a JWT's claims without verifying it (the server just
// issued it); an unreadable token gives empty claims.
func tokenClaims(token string) jwtClaims {
	var c jwtClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
		_ = json.Unmarshal(payload, &c)
	}
	return c
}

func unixTime(sec int64, zero string) string {
	if sec == 0 {
		return zero
	}
	return time.Unix(sec, 0).Format(time.RFC3339)
}

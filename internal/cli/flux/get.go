package flux

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// flags are the flags every Flux command shares.
type flags struct {
	conn      *connect.Options
	namespace string
	all       bool
}

// addFlags adds flux's -n (default flux-system) and the connection flags,
// with flux's --context for the kubeconfig context.
func (f *flags) addFlags(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	f.conn.AddFlags(fs)
	fs.StringVarP(&f.namespace, "namespace", "n", "flux-system", "namespace of the object")
	fs.StringVar(&f.conn.KubeContext, "context", f.conn.KubeContext, "kubeconfig context (implies --core)")
}

func (f *flags) listNamespace() string {
	if f.all {
		return ""
	}
	return f.namespace
}

// NewGetCmd returns `get` with flux's subcommands.
func NewGetCmd(conn *connect.Options) *cobra.Command {
	f := &flags{conn: conn}
	var noHeader bool
	var status string
	cmd := &cobra.Command{Use: "get", Short: "Show the state of Flux objects"}
	f.addFlags(cmd)
	cmd.PersistentFlags().BoolVarP(&f.all, "all-namespaces", "A", false, "list in every namespace")
	cmd.PersistentFlags().BoolVar(&noHeader, "no-header", false, "print no header line")
	cmd.PersistentFlags().StringVar(&status, "status-selector", "", "only objects whose condition matches, e.g. ready=false")
	getOf := func(use string, aliases []string, kinds []kind, prefixed bool) *cobra.Command {
		return &cobra.Command{
			Use: use, Aliases: aliases, Args: cobra.MaximumNArgs(1),
			Short: "Show " + use,
			RunE: func(cmd *cobra.Command, args []string) error {
				api, err := newFluxAPI(conn)
				if err != nil {
					return err
				}
				name := ""
				if len(args) == 1 {
					name = args[0]
				}
				return printGet(cmd.Context(), cmd.OutOrStdout(), api, kinds, f.listNamespace(), name, prefixed || len(kinds) > 1, !noHeader, f.all, status)
			},
		}
	}
	sources := &cobra.Command{Use: "sources", Aliases: []string{"source"}, Short: "Show sources"}
	for _, k := range sourceKinds {
		sources.AddCommand(getOf(k.names[0], k.names[1:], []kind{k}, false))
	}
	sources.AddCommand(getOf("all", nil, sourceKinds, true))
	cmd.AddCommand(sources,
		getOf("kustomizations", []string{"ks", "kustomization"}, []kind{kustomization}, false),
		getOf("helmreleases", []string{"hr", "helmrelease"}, []kind{helmRelease}, false),
		getOf("all", nil, allKinds, true))
	return cmd
}

// printGet prints a table per kind with flux's columns: NAME, REVISION,
// SUSPENDED, READY, MESSAGE (NAMESPACE first with -A).
func printGet(ctx context.Context, w io.Writer, api fluxAPI, kinds []kind, ns, name string, prefixed, header, allNS bool, status string) error {
	first := true
	for _, k := range kinds {
		var items []unstructured.Unstructured
		if name != "" {
			obj, err := api.Get(ctx, k, ns, name)
			if err != nil {
				return fmt.Errorf("get %s %s/%s: %w", k.gvk.Kind, ns, name, err)
			}
			items = []unstructured.Unstructured{*obj}
		} else {
			var err error
			if items, err = api.List(ctx, k, ns); err != nil {
				if len(kinds) > 1 && isNoKind(err) {
					continue
				}
				return fmt.Errorf("list %s: %w", k.gvk.Kind, err)
			}
		}
		rows := [][]string{}
		for i := range items {
			obj := &items[i]
			ready, msg := condition(obj, "Ready")
			if status != "" && !matchesStatus(obj, status) {
				continue
			}
			n := obj.GetName()
			if prefixed {
				n = strings.ToLower(k.gvk.Kind) + "/" + n
			}
			row := []string{n, revision(k, obj), fmt.Sprint(suspended(obj)), ready, msg}
			if allNS {
				row = append([]string{obj.GetNamespace()}, row...)
			}
			rows = append(rows, row)
		}
		if len(rows) == 0 && len(kinds) > 1 {
			continue
		}
		if len(rows) == 0 {
			fmt.Fprintf(w, "no %s objects found in %s\n", k.gvk.Kind, namespaceText(ns))
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		head := []string{"NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"}
		if allNS {
			head = append([]string{"NAMESPACE"}, head...)
		}
		if !header {
			head = nil
		}
		if err := output.Table(w, head, rows); err != nil {
			return err
		}
	}
	return nil
}

func namespaceText(ns string) string {
	if ns == "" {
		return "any namespace"
	}
	return ns + " namespace"
}

// isNoKind reports whether err says the cluster does not serve a kind (a
// source kind whose CRD is not installed).
func isNoKind(err error) bool {
	return strings.Contains(err.Error(), "no matches for kind") || strings.Contains(err.Error(), "the server could not find the requested resource")
}

// condition returns the status and message of condition t ("Unknown"
// when absent, as kubectl shows it).
func condition(obj *unstructured.Unstructured, t string) (string, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == t {
			status, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return status, msg
		}
	}
	return "Unknown", ""
}

// matchesStatus checks --status-selector TYPE=STATUS.
func matchesStatus(obj *unstructured.Unstructured, sel string) bool {
	t, want, _ := strings.Cut(sel, "=")
	got, _ := condition(obj, capitalize(t))
	return strings.EqualFold(got, want)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func suspended(obj *unstructured.Unstructured) bool {
	s, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
	return s
}

// revision is the revision flux shows: the source's artifact, the
// Kustomization's last applied one, the HelmRelease's last attempted.
func revision(k kind, obj *unstructured.Unstructured) string {
	var r string
	switch {
	case k.source:
		r, _, _ = unstructured.NestedString(obj.Object, "status", "artifact", "revision")
	case k.gvk.Kind == "Kustomization":
		r, _, _ = unstructured.NestedString(obj.Object, "status", "lastAppliedRevision")
	default:
		r, _, _ = unstructured.NestedString(obj.Object, "status", "lastAttemptedRevision")
	}
	return r
}

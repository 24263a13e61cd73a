package flux

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
	"github.com/tether-gitops/tether/internal/engine"
)

// maxTreeDepth bounds nesting, in case Kustomizations name each other.
const maxTreeDepth = 16

// NewTreeCmd returns `tree ks|hr NAME`: what the object deployed, from
// its inventory, with nested Kustomizations and HelmReleases expanded.
func NewTreeCmd(conn *connect.Options) *cobra.Command {
	f := &flags{conn: conn}
	cmd := &cobra.Command{Use: "tree", Short: "Show what a Kustomization or HelmRelease deployed, as a tree"}
	f.addFlags(cmd)
	for _, k := range []kind{kustomization, helmRelease} {
		cmd.AddCommand(&cobra.Command{
			Use: k.names[1] + " NAME", Aliases: append([]string{k.names[0]}, k.names[2:]...), Args: cobra.ExactArgs(1),
			Short:             "Show what a " + k.gvk.Kind + " deployed",
			ValidArgsFunction: completeNames(f, k),
			RunE: func(cmd *cobra.Command, args []string) error {
				api, err := newFluxAPI(conn)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s/%s/%s\n", k.gvk.Kind, f.namespace, args[0])
				return printTree(cmd.Context(), w, api, k, f.namespace, args[0], "", 0)
			},
		})
	}
	return cmd
}

// printTree prints the inventory of one object under prefix, recursing
// into the Kustomizations and HelmReleases it holds.
func printTree(ctx context.Context, w io.Writer, api fluxAPI, k kind, ns, name, prefix string, depth int) error {
	obj, err := api.Get(ctx, k, ns, name)
	if err != nil {
		return fmt.Errorf("get %s %s/%s: %w", k.gvk.Kind, ns, name, err)
	}
	entries, _, _ := unstructured.NestedSlice(obj.Object, "status", "inventory", "entries")
	for i, e := range entries {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		meta, err := engine.Entry{ID: id}.ObjMetadata()
		if err != nil {
			continue
		}
		branch, next := "├── ", "│   "
		if i == len(entries)-1 {
			branch, next = "└── ", "    "
		}
		label := meta.GroupKind.Kind + "/"
		if meta.Namespace != "" {
			label += meta.Namespace + "/"
		}
		fmt.Fprintf(w, "%s%s%s\n", prefix, branch, label+meta.Name)
		child, nested := kindByKind(meta.GroupKind.Kind)
		if nested && !child.source && depth < maxTreeDepth &&
			strings.HasSuffix(child.gvk.Group, meta.GroupKind.Group) && meta.GroupKind.Group != "" {
			if err := printTree(ctx, w, api, child, meta.Namespace, meta.Name, prefix+next, depth+1); err != nil {
				fmt.Fprintf(w, "%s%s(%v)\n", prefix, next, err)
			}
		}
	}
	return nil
}

// NewEventsCmd returns `events [--for Kind/name] [--watch]`.
func NewEventsCmd(conn *connect.Options) *cobra.Command {
	f := &flags{conn: conn}
	var forObj string
	var watch bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the events of Flux objects and Applications",
		Args:  cobra.NoArgs,
	}
	f.addFlags(cmd)
	cmd.Flags().BoolVarP(&f.all, "all-namespaces", "A", false, "in every namespace (with --core)")
	cmd.Flags().StringVar(&forObj, "for", "", "only the events of Kind/name")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "keep printing new events")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		read, err := eventReader(conn, f, forObj)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		seen := map[string]bool{}
		header := true
		for {
			events, err := read(cmd.Context())
			if err != nil {
				return err
			}
			var rows [][]string
			for _, e := range events {
				key := fmt.Sprintf("%s/%d/%s", e.UID, e.Count, eventTime(e))
				if seen[key] {
					continue
				}
				seen[key] = true
				rows = append(rows, []string{age(eventTime(e)), e.Type, e.Reason,
					e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name, strings.TrimSpace(e.Message)})
			}
			if len(rows) > 0 || (header && !watch) {
				head := []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
				if !header {
					head = nil
				}
				header = false
				if err := output.Table(w, head, rows); err != nil {
					return err
				}
			}
			if !watch {
				return nil
			}
			select {
			case <-cmd.Context().Done():
				return nil
			case <-time.After(2 * time.Second):
			}
		}
	}
	return cmd
}

func age(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t))
}

// eventReader returns what reads the events asked for.
func eventReader(conn *connect.Options, f *flags, forObj string) (func(context.Context) ([]corev1.Event, error), error) {
	if forObj == "" {
		if !conn.UseCore() {
			return nil, fmt.Errorf("through the API server, name the object: --for Kind/name")
		}
		c, err := conn.Kube()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]corev1.Event, error) {
			return fluxEvents(ctx, c, f.listNamespace())
		}, nil
	}
	kindName, name, ok := strings.Cut(forObj, "/")
	if !ok || name == "" {
		return nil, fmt.Errorf("--for %q: want Kind/name", forObj)
	}
	if strings.EqualFold(kindName, "Application") {
		return appEvents(conn, name)
	}
	k, ok := kindByKind(kindName)
	if !ok {
		return nil, fmt.Errorf("--for %q: unknown kind %s", forObj, kindName)
	}
	api, err := newFluxAPI(conn)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]corev1.Event, error) {
		ev, err := api.Events(ctx, k, f.namespace, name)
		if err != nil {
			return nil, fmt.Errorf("events of %s %s/%s: %w", k.gvk.Kind, f.namespace, name, err)
		}
		return ev, nil
	}, nil
}

// fluxEvents lists the events of Flux objects and Applications in
// namespace ("" for all), oldest first.
func fluxEvents(ctx context.Context, c client.Client, namespace string) ([]corev1.Event, error) {
	var list corev1.EventList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := list.Items[:0]
	for _, e := range list.Items {
		if _, ok := kindByKind(e.InvolvedObject.Kind); ok || e.InvolvedObject.Kind == "Application" {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out, nil
}

// appEvents reads the events of Application name.
func appEvents(conn *connect.Options, name string) (func(context.Context) ([]corev1.Event, error), error) {
	if conn.UseCore() {
		c, err := conn.Kube()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]corev1.Event, error) {
			var list corev1.EventList
			if err := c.List(ctx, &list, client.InNamespace(conn.ArgoNamespace),
				client.MatchingFields{"involvedObject.kind": "Application", "involvedObject.name": name}); err != nil {
				return nil, fmt.Errorf("events of Application %s: %w", name, err)
			}
			sort.SliceStable(list.Items, func(i, j int) bool { return eventTime(list.Items[i]).Before(eventTime(list.Items[j])) })
			return list.Items, nil
		}, nil
	}
	api, err := conn.API()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]corev1.Event, error) {
		var list corev1.EventList
		if err := api.Do(ctx, http.MethodGet, "/api/v1/applications/"+apiclient.Escape(name)+"/events", nil, &list); err != nil {
			return nil, fmt.Errorf("events of Application %s: %w", name, err)
		}
		return list.Items, nil
	}, nil
}

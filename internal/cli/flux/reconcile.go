package flux

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// kindCommands adds one subcommand per kind (with flux's aliases) that
// runs fn on NAME; sources sit under `source`.
func kindCommands(parent *cobra.Command, f *flags, verb string, fn func(cmd *cobra.Command, k kind, name string) error) {
	sub := func(k kind) *cobra.Command {
		return &cobra.Command{
			Use: k.names[1] + " NAME", Aliases: append([]string{k.names[0]}, k.names[2:]...), Args: cobra.ExactArgs(1),
			Short:             verb + " a " + k.gvk.Kind,
			RunE:              func(cmd *cobra.Command, args []string) error { return fn(cmd, k, args[0]) },
			ValidArgsFunction: completeNames(f, k),
		}
	}
	source := &cobra.Command{Use: "source", Aliases: []string{"sources"}, Short: verb + " a source"}
	for _, k := range sourceKinds {
		c := sub(k)
		c.Use, c.Aliases = k.names[0]+" NAME", k.names[1:]
		source.AddCommand(c)
	}
	parent.AddCommand(source, sub(kustomization), sub(helmRelease))
}

// NewReconcileCmd returns `reconcile`.
func NewReconcileCmd(conn *connect.Options) *cobra.Command {
	f := &flags{conn: conn}
	var withSource bool
	var timeout time.Duration
	cmd := &cobra.Command{Use: "reconcile", Short: "Ask for a reconcile now and wait for it"}
	f.addFlags(cmd)
	cmd.PersistentFlags().BoolVar(&withSource, "with-source", false, "reconcile the source first")
	cmd.PersistentFlags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	kindCommands(cmd, f, "Reconcile", func(cmd *cobra.Command, k kind, name string) error {
		api, err := newFluxAPI(conn)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		p := output.NewProgress(cmd.ErrOrStderr())
		defer p.Done()
		if withSource && !k.source {
			obj, err := api.Get(ctx, k, f.namespace, name)
			if err != nil {
				return fmt.Errorf("get %s %s/%s: %w", k.gvk.Kind, f.namespace, name, err)
			}
			srcs, err := sourcesOf(obj)
			if err != nil {
				return err
			}
			for _, src := range srcs {
				if err := reconcile(ctx, p, api, src.kind, src.namespace, src.name); err != nil {
					return err
				}
			}
		}
		return reconcile(ctx, p, api, k, f.namespace, name)
	})
	return cmd
}

// ref names one object of a kind.
type ref struct {
	kind            kind
	namespace, name string
}

// sourcesOf returns what to reconcile, in order, before a Kustomization
// or HelmRelease: its source and, for a HelmRelease, the HelmChart made
// from it (which picks the chart version from the source).
func sourcesOf(obj *unstructured.Unstructured) ([]ref, error) {
	k, ns, name, err := sourceOf(obj)
	if err != nil {
		return nil, err
	}
	out := []ref{{k, ns, name}}
	if chart, _, _ := unstructured.NestedString(obj.Object, "status", "helmChart"); chart != "" {
		if cns, cname, ok := strings.Cut(chart, "/"); ok {
			out = append(out, ref{helmChart, cns, cname})
		}
	}
	return out, nil
}

// sourceOf reads the source a Kustomization or HelmRelease takes.
func sourceOf(obj *unstructured.Unstructured) (kind, string, string, error) {
	ref, _, _ := unstructured.NestedMap(obj.Object, "spec", "sourceRef")
	if ref == nil {
		ref, _, _ = unstructured.NestedMap(obj.Object, "spec", "chart", "spec", "sourceRef")
	}
	if ref == nil {
		ref, _, _ = unstructured.NestedMap(obj.Object, "spec", "chartRef")
	}
	k, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = obj.GetNamespace()
	}
	sk, ok := kindByKind(k)
	if !ok || name == "" {
		return kind{}, "", "", fmt.Errorf("%s %s/%s: source %q %q is not one the CLI can reconcile", obj.GetKind(), obj.GetNamespace(), obj.GetName(), k, name)
	}
	return sk, ns, name, nil
}

// reconcile annotates an object and waits until its controller handled
// that request and it is Ready, as `flux reconcile` does.
func reconcile(ctx context.Context, p *output.Progress, api fluxAPI, k kind, ns, name string) error {
	what := fmt.Sprintf("%s %s/%s", k.gvk.Kind, ns, name)
	obj, err := api.Get(ctx, k, ns, name)
	if err != nil {
		return fmt.Errorf("get %s: %w", what, err)
	}
	if suspended(obj) {
		return fmt.Errorf("%s is suspended: resume it first", what)
	}
	p.Line(what+"/annotate", "► annotating "+what)
	written, err := api.Act(ctx, k, ns, name, "reconcile")
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", what, err)
	}
	requested := written.GetAnnotations()[requestedAtAnnotation]
	p.Line(what+"/wait", "◎ waiting for "+what+" to reconcile")
	for {
		obj, err := api.Get(ctx, k, ns, name)
		if err == nil {
			handled, _, _ := unstructured.NestedString(obj.Object, "status", "lastHandledReconcileAt")
			ready, msg := condition(obj, "Ready")
			gen, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
			p.Status(fmt.Sprintf("%s: Ready=%s %s", what, ready, msg))
			if handled == requested && gen == obj.GetGeneration() && ready != "Unknown" {
				if ready != "True" {
					return fmt.Errorf("%s reconciled and is not ready: %s", what, msg)
				}
				p.Done()
				p.Line(what+"/done", doneLine(k, obj))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s to reconcile", what)
		case <-time.After(time.Second):
		}
	}
}

func doneLine(k kind, obj *unstructured.Unstructured) string {
	rev := revision(k, obj)
	switch {
	case k.source:
		return "✔ fetched revision " + rev
	case k.gvk.Kind == "Kustomization":
		return "✔ applied revision " + rev
	}
	return "✔ reconciled revision " + rev
}

// NewSuspendCmd returns `suspend`.
func NewSuspendCmd(conn *connect.Options) *cobra.Command {
	return suspendResume(conn, "suspend", "Suspend")
}

// NewResumeCmd returns `resume`: it also waits for the reconcile the
// resume asks for.
func NewResumeCmd(conn *connect.Options) *cobra.Command {
	return suspendResume(conn, "resume", "Resume")
}

func suspendResume(conn *connect.Options, action, verb string) *cobra.Command {
	f := &flags{conn: conn}
	cmd := &cobra.Command{Use: action, Short: verb + " reconciles of a Flux object"}
	f.addFlags(cmd)
	kindCommands(cmd, f, verb, func(cmd *cobra.Command, k kind, name string) error {
		api, err := newFluxAPI(conn)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("%s %s/%s", k.gvk.Kind, f.namespace, name)
		if _, err := api.Act(cmd.Context(), k, f.namespace, name, action); err != nil {
			return fmt.Errorf("%s %s: %w", action, what, err)
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "✔ %s %sed\n", what, trimE(action))
		return nil
	})
	return cmd
}

func trimE(s string) string {
	if s[len(s)-1] == 'e' {
		return s[:len(s)-1]
	}
	return s
}

// completeNames completes the names of kind k in the -n namespace for
// shell completion.
func completeNames(f *flags, k kind) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		api, err := newFluxAPI(f.conn)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		items, err := api.List(cmd.Context(), k, f.namespace)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var names []string
		for _, o := range items {
			if strings.HasPrefix(o.GetName(), prefix) {
				names = append(names, o.GetName())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// Package argo implements the CLI's Argo CD habits: `app`, `proj`,
// `cluster`, `repo`, `account`, `login`, `logout` and `context`, with the
// flags and output shapes argocd users know.
package argo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// NewAppCmd returns `app` and its subcommands.
func NewAppCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "app",
		Aliases: []string{"apps", "application", "applications"},
		Short:   "Manage Argo CD Applications",
	}
	conn.AddFlags(cmd.PersistentFlags())
	named := []*cobra.Command{appGet(conn), appSet(conn), appDelete(conn), appSync(conn), appWait(conn), appDiff(conn),
		appHistory(conn), appRollback(conn), appManifests(conn), appResources(conn), appTerminate(conn)}
	for _, c := range named {
		c.ValidArgsFunction = completeApps(conn)
	}
	cmd.AddCommand(append(named, appList(conn), appCreate(conn))...)
	return cmd
}

// getApp reads the app named on the command line (NAME or NS/NAME), with
// refresh "" for none.
func getApp(cmd *cobra.Command, conn *connect.Options, arg, refresh string) (apps, *argov1.Application, error) {
	a, err := newApps(conn)
	if err != nil {
		return nil, nil, err
	}
	app, err := a.Get(cmd.Context(), appName(arg), refresh)
	if err != nil {
		return nil, nil, fmt.Errorf("get application %s: %w", arg, err)
	}
	return a, app, nil
}

// withApps runs fn with the apps service and a context bounded by the
// command's context.
func withApps(conn *connect.Options, fn func(ctx context.Context, a apps) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		return fn(cmd.Context(), a)
	}
}

func appList(conn *connect.Options) *cobra.Command {
	var out, selector, project string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List applications",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = withApps(conn, func(ctx context.Context, a apps) error {
		items, err := a.List(ctx, selector, project)
		if err != nil {
			return fmt.Errorf("list applications: %w", err)
		}
		sort.Slice(items, func(i, j int) bool { return qualified(&items[i]) < qualified(&items[j]) })
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			for i := range items {
				manifestOf(&items[i], false)
			}
			return output.Objects(w, out, items)
		case "name":
			for i := range items {
				fmt.Fprintln(w, qualified(&items[i]))
			}
			return nil
		case "", "wide":
			header := []string{"NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY", "CONDITIONS", "REPO", "PATH", "TARGET"}
			rows := make([][]string, 0, len(items))
			for i := range items {
				app := &items[i]
				src := primarySource(app)
				rows = append(rows, []string{qualified(app), destCluster(app), app.Spec.Destination.Namespace, orDefault(app.Spec.Project),
					string(app.Status.Sync.Status), string(app.Status.Health.Status), syncPolicy(app), conditions(app),
					src.RepoURL, src.Path, src.TargetRevision})
			}
			return output.Table(w, header, rows)
		}
		return fmt.Errorf("unknown output %q: use wide, name, json or yaml", out)
	})
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, name, json or yaml")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector")
	cmd.Flags().StringVarP(&project, "project", "p", "", "only apps of this project")
	return cmd
}

func appGet(conn *connect.Options) *cobra.Command {
	var out string
	var refresh, hard bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an application's state and resources",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		_, app, err := getApp(cmd, conn, args[0], refreshMode(refresh, hard))
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			app.APIVersion, app.Kind = argov1.GroupVersion.String(), "Application"
			app.ManagedFields = nil
			return output.Object(w, out, app)
		case "", "wide":
			printSummary(w, app)
			fmt.Fprintln(w)
			return printResources(w, app)
		}
		return fmt.Errorf("unknown output %q: use wide, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, json or yaml")
	cmd.Flags().BoolVar(&refresh, "refresh", false, "compare with the latest commit first")
	cmd.Flags().BoolVar(&hard, "hard-refresh", false, "render again from scratch first")
	return cmd
}

func refreshMode(refresh, hard bool) string {
	switch {
	case hard:
		return "hard"
	case refresh:
		return "normal"
	}
	return ""
}

// appName takes NAME or NAMESPACE/NAME (the name is what the API keys on).
func appName(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func qualified(app *argov1.Application) string { return app.Namespace + "/" + app.Name }

func orDefault(p string) string {
	if p == "" {
		return "default"
	}
	return p
}

func primarySource(app *argov1.Application) argov1.ApplicationSource {
	if srcs := app.Spec.GetSources(); len(srcs) > 0 {
		return srcs[0]
	}
	return argov1.ApplicationSource{}
}

func destCluster(app *argov1.Application) string {
	if app.Spec.Destination.Name != "" {
		return app.Spec.Destination.Name
	}
	return app.Spec.Destination.Server
}

func syncPolicy(app *argov1.Application) string {
	p := app.Spec.SyncPolicy
	if p == nil || p.Automated == nil {
		return "Manual"
	}
	s := "Auto"
	if p.Automated.Prune {
		s += "-Prune"
	}
	return s
}

func conditions(app *argov1.Application) string {
	if len(app.Status.Conditions) == 0 {
		return "<none>"
	}
	types := make([]string, 0, len(app.Status.Conditions))
	for _, c := range app.Status.Conditions {
		types = append(types, string(c.Type))
	}
	return strings.Join(types, ",")
}

// printSummary prints the lines of `argocd app get` above the resources.
func printSummary(w io.Writer, app *argov1.Application) {
	src := primarySource(app)
	line := func(k, v string) { fmt.Fprintf(w, "%-18s%s\n", k+":", v) }
	line("Name", qualified(app))
	line("Project", orDefault(app.Spec.Project))
	line("Server", destCluster(app))
	line("Namespace", app.Spec.Destination.Namespace)
	line("Repo", src.RepoURL)
	line("Target", src.TargetRevision)
	if src.Chart != "" {
		line("Chart", src.Chart)
	} else {
		line("Path", src.Path)
	}
	line("SyncWindow", "Sync Allowed")
	line("Sync Policy", syncPolicy(app))
	status := string(app.Status.Sync.Status)
	if app.Status.Sync.Revision != "" {
		status += " to " + app.Status.Sync.Revision
	}
	line("Sync Status", status)
	health := string(app.Status.Health.Status)
	if app.Status.Health.Message != "" {
		health += " (" + app.Status.Health.Message + ")"
	}
	line("Health Status", health)
	for _, c := range app.Status.Conditions {
		line("Condition", string(c.Type)+": "+c.Message)
	}
	if st := app.Status.OperationState; st != nil {
		fmt.Fprintln(w)
		line("Operation", "Sync")
		if st.SyncResult != nil {
			line("Sync Revision", st.SyncResult.Revision)
		}
		line("Phase", string(st.Phase))
		line("Start", st.StartedAt.Format(time.RFC3339))
		if st.FinishedAt != nil {
			line("Finished", st.FinishedAt.Format(time.RFC3339))
		}
		line("Message", st.Message)
	}
}

// printResources prints status.resources as `argocd app get` does.
func printResources(w io.Writer, app *argov1.Application) error {
	rows := make([][]string, 0, len(app.Status.Resources))
	for _, r := range app.Status.Resources {
		health, msg := "", ""
		if r.Health != nil {
			health, msg = string(r.Health.Status), r.Health.Message
		}
		rows = append(rows, []string{r.Group, r.Kind, r.Namespace, r.Name, string(r.Status), health, msg})
	}
	return output.Table(w, []string{"GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"}, rows)
}

// manifestOf strips what the server sets, so that the object applies back
// with kubectl (keepStatus keeps the status, for reading).
func manifestOf(app *argov1.Application, keepStatus bool) {
	app.APIVersion, app.Kind = argov1.GroupVersion.String(), "Application"
	app.ManagedFields = nil
	app.UID, app.ResourceVersion, app.Generation = "", "", 0
	app.CreationTimestamp = metav1.Time{}
	if !keepStatus {
		app.Status = argov1.ApplicationStatus{}
		app.Operation = nil
	}
}

func appTerminate(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminate-op NAME",
		Short: "Stop the running operation of an application",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		if err := a.Terminate(cmd.Context(), appName(args[0])); err != nil {
			return fmt.Errorf("terminate the operation of %s: %w", args[0], err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Application '%s' operation terminating\n", appName(args[0]))
		return nil
	}
	return cmd
}

func appHistory(conn *connect.Options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Show an application's deployment history",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		_, app, err := getApp(cmd, conn, args[0], "")
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		switch out {
		case "id":
			for _, h := range app.Status.History {
				fmt.Fprintln(w, h.ID)
			}
			return nil
		case "json", "yaml":
			return output.Objects(w, out, app.Status.History)
		case "", "wide":
			rows := make([][]string, 0, len(app.Status.History))
			for _, h := range app.Status.History {
				rev := h.Revision
				if rev == "" {
					rev = strings.Join(h.Revisions, ",")
				}
				rows = append(rows, []string{strconv.FormatInt(h.ID, 10), h.DeployedAt.Format(time.RFC3339), rev})
			}
			return output.Table(w, []string{"ID", "DATE", "REVISION"}, rows)
		}
		return fmt.Errorf("unknown output %q: use wide, id, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, id, json or yaml")
	return cmd
}

func appResources(conn *connect.Options) *cobra.Command {
	var orphaned bool
	var out string
	cmd := &cobra.Command{
		Use:   "resources NAME",
		Short: "List the resources of an application",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		_, app, err := getApp(cmd, conn, args[0], "")
		if err != nil {
			return err
		}
		if orphaned {
			return errors.New("--orphaned is not supported: Tether does not track orphaned resources yet")
		}
		w := cmd.OutOrStdout()
		if out == "json" || out == "yaml" {
			return output.Objects(w, out, app.Status.Resources)
		}
		rows := make([][]string, 0, len(app.Status.Resources))
		for _, r := range app.Status.Resources {
			rows = append(rows, []string{r.Group, r.Kind, r.Namespace, r.Name, "No"})
		}
		return output.Table(w, []string{"GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"}, rows)
	}
	cmd.Flags().BoolVar(&orphaned, "orphaned", false, "list orphaned resources")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}

func appManifests(conn *connect.Options) *cobra.Command {
	var source, revision string
	cmd := &cobra.Command{
		Use:   "manifests NAME",
		Short: "Print an application's manifests, from Git or live (Secrets masked)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		name := appName(args[0])
		var docs []string
		switch source {
		case "git":
			docs, err = a.Manifests(cmd.Context(), name, revision)
		case "live":
			var items []managedResource
			items, err = a.ManagedResources(cmd.Context(), name)
			for _, it := range items {
				if it.LiveState != "" && it.LiveState != "null" {
					docs = append(docs, it.LiveState)
				}
			}
		default:
			return fmt.Errorf("--source %q: use git or live", source)
		}
		if err != nil {
			return fmt.Errorf("manifests of %s: %w", name, err)
		}
		w := cmd.OutOrStdout()
		for _, d := range docs {
			y, err := jsonToYAML(d)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "---\n%s", y)
		}
		return nil
	}
	cmd.Flags().StringVar(&source, "source", "git", "git or live")
	cmd.Flags().StringVar(&revision, "revision", "", "render this revision instead of the target")
	return cmd
}

// stdinIsTerminal reports whether the user can answer a prompt.
func stdinIsTerminal() bool { return output.IsTerminal(os.Stdin) }

package argo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// pollEvery is how often waits read the app again.
const pollEvery = time.Second

// waitFor is what `app wait` waits for.
type waitFor struct {
	sync, health, operation, suspended, degraded bool
	// after is the resource version of the app as this command wrote it:
	// reads of older versions (a cache behind the write) are skipped.
	after string
}

// stale reports whether resource version v is older than after. Versions
// are compared as numbers when both are (etcd's revisions); opaque ones
// are never taken for stale.
func stale(v, after string) bool {
	n, err1 := strconv.ParseUint(v, 10, 64)
	a, err2 := strconv.ParseUint(after, 10, 64)
	return err1 == nil && err2 == nil && n < a
}

// any reports whether a condition was asked for.
func (w waitFor) any() bool { return w.sync || w.health || w.operation || w.suspended }

// operationDone reports whether no operation is pending or running.
func operationDone(app *argov1.Application) bool {
	if app.Operation != nil {
		return false
	}
	st := app.Status.OperationState
	return st == nil || (st.Phase != argov1.OperationRunning && st.Phase != argov1.OperationTerminating)
}

// unmet says which of want app does not meet yet ("" when all are met).
func (w waitFor) unmet(app *argov1.Application) string {
	var why []string
	if w.operation && !operationDone(app) {
		why = append(why, "operation "+operationPhase(app))
	}
	if w.sync && app.Status.Sync.Status != argov1.SyncStatusCodeSynced {
		why = append(why, "sync "+orUnknown(string(app.Status.Sync.Status))+notSynced(app))
	}
	if w.health && app.Status.Health.Status != argov1.HealthStatusHealthy {
		why = append(why, "health "+orUnknown(string(app.Status.Health.Status))+unhealthy(app))
	}
	if w.suspended && app.Status.Health.Status != argov1.HealthStatusSuspended {
		why = append(why, "health "+orUnknown(string(app.Status.Health.Status))+" (not Suspended)")
	}
	return strings.Join(why, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func operationPhase(app *argov1.Application) string {
	if st := app.Status.OperationState; st != nil && app.Operation == nil {
		return string(st.Phase)
	}
	return "Pending"
}

// unhealthy names the objects that keep the app from being Healthy.
func unhealthy(app *argov1.Application) string {
	var parts []string
	for _, r := range app.Status.Resources {
		if r.Health == nil || r.Health.Status == argov1.HealthStatusHealthy {
			continue
		}
		s := fmt.Sprintf("%s %s is %s", r.Kind, objName(r.Namespace, r.Name), r.Health.Status)
		if r.Health.Message != "" {
			s += ": " + r.Health.Message
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// notSynced names the objects that differ from Git.
func notSynced(app *argov1.Application) string {
	var parts []string
	for _, r := range app.Status.Resources {
		if r.Status != argov1.SyncStatusCodeSynced {
			parts = append(parts, fmt.Sprintf("%s %s is %s", r.Kind, objName(r.Namespace, r.Name), orUnknown(string(r.Status))))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func objName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// waitApp reads the app until want holds, reporting progress; timeout 0
// waits as long as ctx lasts.
func waitApp(ctx context.Context, a apps, name string, want waitFor, timeout time.Duration, p *output.Progress) (*argov1.Application, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	defer p.Done()
	var last *argov1.Application
	for {
		app, err := a.Get(ctx, name, "")
		switch {
		case err == nil && stale(app.ResourceVersion, want.after):
			// The server's cache has not seen this command's write yet.
		case err == nil:
			last = app
			report(p, app)
			if want.degraded && app.Status.Health.Status == argov1.HealthStatusDegraded {
				return app, fmt.Errorf("application %s is Degraded%s", name, unhealthy(app))
			}
			if want.operation && operationDone(app) {
				if st := app.Status.OperationState; st != nil && (st.Phase == argov1.OperationFailed || st.Phase == argov1.OperationError) {
					return app, fmt.Errorf("application %s: operation %s: %s", name, st.Phase, st.Message)
				}
			}
			if why := want.unmet(app); why == "" {
				return app, nil
			} else {
				p.Status(fmt.Sprintf("waiting for %s: %s", name, why))
			}
		case ctx.Err() == nil:
			return nil, fmt.Errorf("get application %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			if last == nil {
				return nil, fmt.Errorf("timed out (%v) waiting for application %s", timeout, name)
			}
			return last, fmt.Errorf("timed out (%v) waiting for application %s: %s", timeout, name, want.unmet(last))
		case <-time.After(pollEvery):
		}
	}
}

// report prints a line whenever an object's state or the operation's
// outcome for it changes.
func report(p *output.Progress, app *argov1.Application) {
	for _, r := range app.Status.Resources {
		health := ""
		if r.Health != nil {
			health = " " + string(r.Health.Status)
			if r.Health.Message != "" {
				health += " (" + r.Health.Message + ")"
			}
		}
		p.Line("res/"+r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name,
			fmt.Sprintf("%-12s %s %s: %s%s", app.Name, r.Kind, objName(r.Namespace, r.Name), orUnknown(string(r.Status)), health))
	}
	st := app.Status.OperationState
	if st == nil {
		return
	}
	if st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			text := fmt.Sprintf("%-12s %s %s: %s", app.Name, r.Kind, objName(r.Namespace, r.Name), r.SyncPhase)
			if r.HookPhase != "" {
				text += " " + string(r.HookPhase)
			}
			if r.Status != "" {
				text += " " + string(r.Status)
			}
			if r.Message != "" {
				text += ": " + r.Message
			}
			p.Line("op/"+st.StartedAt.String()+"/"+r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name+"/"+string(r.SyncPhase), text)
		}
	}
	p.Line("op/"+st.StartedAt.String(), fmt.Sprintf("%-12s operation %s: %s", app.Name, st.Phase, st.Message))
}

func appWait(conn *connect.Options) *cobra.Command {
	var want waitFor
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait NAME...",
		Short: "Wait until applications are synced, healthy and done with operations",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		if !want.any() {
			want.sync, want.health, want.operation = true, true, true
		}
		p := output.NewProgress(cmd.ErrOrStderr())
		for _, name := range args {
			app, err := waitApp(cmd.Context(), a, appName(name), want, timeout, p)
			if err != nil {
				return err
			}
			printSummary(cmd.OutOrStdout(), app)
		}
		return nil
	}
	cmd.Flags().BoolVar(&want.sync, "sync", false, "wait until Synced")
	cmd.Flags().BoolVar(&want.health, "health", false, "wait until Healthy")
	cmd.Flags().BoolVar(&want.operation, "operation", false, "wait until no operation is pending or running")
	cmd.Flags().BoolVar(&want.suspended, "suspended", false, "wait until Suspended")
	cmd.Flags().BoolVar(&want.degraded, "degraded", false, "fail at once when the app becomes Degraded")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (seconds or a duration; 0 waits forever)")
	secondsFlag(cmd, "timeout")
	return cmd
}

// secondsFlag lets a duration flag also take a bare number of seconds, as
// argocd's --timeout does.
func secondsFlag(cmd *cobra.Command, name string) {
	f := cmd.Flags().Lookup(name)
	f.Value = &secondsValue{f.Value}
}

type secondsValue struct {
	inner interface {
		Set(string) error
		String() string
		Type() string
	}
}

func (s *secondsValue) Set(v string) error {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		v = strconv.FormatUint(n, 10) + "s"
	}
	return s.inner.Set(v)
}
func (s *secondsValue) String() string { return s.inner.String() }
func (s *secondsValue) Type() string   { return s.inner.Type() }

func appSync(conn *connect.Options) *cobra.Command {
	var req syncRequest
	var resources, options []string
	var async, force, applyOutOfSyncOnly, serverSide, replace bool
	var strategy string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync NAME...",
		Short: "Sync applications to Git and wait for the operation to finish",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		for _, r := range resources {
			res, err := parseResource(r)
			if err != nil {
				return err
			}
			req.Resources = append(req.Resources, res)
		}
		switch strategy {
		case "", "hook":
			req.Strategy = &argov1.SyncStrategy{Hook: &argov1.SyncStrategyHook{}}
			req.Strategy.Hook.Force = force
		case "apply":
			req.Strategy = &argov1.SyncStrategy{Apply: &argov1.SyncStrategyApply{Force: force}}
		default:
			return fmt.Errorf("--strategy %q: use hook or apply", strategy)
		}
		if applyOutOfSyncOnly {
			options = append(options, "ApplyOutOfSyncOnly=true")
		}
		if serverSide {
			options = append(options, "ServerSideApply=true")
		}
		if replace {
			options = append(options, "Replace=true")
		}
		if len(options) > 0 {
			req.SyncOptions = &syncOptions{Items: options}
		}
		p := output.NewProgress(cmd.ErrOrStderr())
		for _, name := range args {
			name = appName(name)
			written, err := a.Sync(cmd.Context(), name, req)
			if err != nil {
				return fmt.Errorf("sync application %s: %w", name, err)
			}
			if async {
				fmt.Fprintf(cmd.OutOrStdout(), "application '%s' sync requested\n", name)
				continue
			}
			if err := waitOperation(cmd, a, name, written.ResourceVersion, timeout, p); err != nil {
				return err
			}
		}
		return nil
	}
	fs := cmd.Flags()
	fs.StringVar(&req.Revision, "revision", "", "sync to this revision instead of the target")
	fs.BoolVar(&req.Prune, "prune", false, "delete objects that are no longer in Git")
	fs.BoolVar(&req.DryRun, "dry-run", false, "check the sync without changing anything")
	fs.StringArrayVar(&resources, "resource", nil, "sync only GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeat)")
	fs.BoolVar(&async, "async", false, "do not wait for the operation to finish")
	fs.BoolVar(&force, "force", false, "delete and create objects that cannot be changed in place")
	fs.StringVar(&strategy, "strategy", "", "hook (default) or apply (no hooks)")
	fs.StringArrayVar(&options, "sync-option", nil, "sync option such as CreateNamespace=true (repeat)")
	fs.BoolVar(&applyOutOfSyncOnly, "apply-out-of-sync-only", false, "apply only objects that differ")
	fs.BoolVar(&serverSide, "server-side", false, "apply with server-side apply")
	fs.BoolVar(&replace, "replace", false, "replace objects instead of applying them")
	fs.DurationVar(&timeout, "timeout", 0, "give up waiting after this long (seconds or a duration; 0 waits forever)")
	secondsFlag(cmd, "timeout")
	return cmd
}

// waitOperation waits for the operation just recorded and fails unless it
// succeeded.
func waitOperation(cmd *cobra.Command, a apps, name, written string, timeout time.Duration, p *output.Progress) error {
	app, err := waitApp(cmd.Context(), a, name, waitFor{operation: true, after: written}, timeout, p)
	if err != nil {
		return err
	}
	st := app.Status.OperationState
	w := cmd.OutOrStdout()
	printSummary(w, app)
	fmt.Fprintln(w)
	if err := printResources(w, app); err != nil {
		return err
	}
	if st == nil || st.Phase != argov1.OperationSucceeded {
		phase, msg := "Unknown", ""
		if st != nil {
			phase, msg = string(st.Phase), st.Message
		}
		return fmt.Errorf("operation of %s has completed with phase %s: %s", name, phase, msg)
	}
	return nil
}

// parseResource reads GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME.
func parseResource(s string) (argov1.SyncOperationResource, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return argov1.SyncOperationResource{}, fmt.Errorf("--resource %q: want GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME", s)
	}
	r := argov1.SyncOperationResource{Group: parts[0], Kind: parts[1], Name: parts[2]}
	if ns, name, ok := strings.Cut(parts[2], "/"); ok {
		r.Namespace, r.Name = ns, name
	}
	return r, nil
}

func appRollback(conn *connect.Options) *cobra.Command {
	var prune, dryRun bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rollback NAME [ID]",
		Short: "Sync an application back to an entry of its history (the previous one by default)",
		Args:  cobra.RangeArgs(1, 2),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		name := appName(args[0])
		var id int64
		if len(args) == 2 {
			if id, err = strconv.ParseInt(args[1], 10, 64); err != nil {
				return fmt.Errorf("history id %q is not a number", args[1])
			}
		} else {
			app, err := a.Get(cmd.Context(), name, "")
			if err != nil {
				return fmt.Errorf("get application %s: %w", name, err)
			}
			if n := len(app.Status.History); n < 2 {
				return fmt.Errorf("application %s has no earlier deployment to roll back to", name)
			} else {
				id = app.Status.History[n-2].ID
			}
		}
		written, err := a.Rollback(cmd.Context(), name, id, prune, dryRun)
		if err != nil {
			return fmt.Errorf("roll back %s to %d: %w", name, id, err)
		}
		return waitOperation(cmd, a, name, written.ResourceVersion, timeout, output.NewProgress(cmd.ErrOrStderr()))
	}
	cmd.Flags().BoolVar(&prune, "prune", false, "delete objects not in that revision")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check without changing anything")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up waiting after this long (0 waits forever)")
	secondsFlag(cmd, "timeout")
	return cmd
}

func appDelete(conn *connect.Options) *cobra.Command {
	var cascade, yes, wait bool
	var propagation string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete applications (and, with --cascade, what they deployed)",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		for _, name := range args {
			name = appName(name)
			if !yes && stdinIsTerminal() && !confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), fmt.Sprintf("Are you sure you want to delete '%s' and all its resources? [y/n] ", name)) {
				fmt.Fprintf(cmd.OutOrStdout(), "The command to delete '%s' was cancelled.\n", name)
				continue
			}
			if err := a.Delete(cmd.Context(), name, cascade, propagation); err != nil {
				return fmt.Errorf("delete application %s: %w", name, err)
			}
			if wait {
				if err := waitDeleted(cmd.Context(), a, name, timeout); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "application '%s' deleted\n", name)
		}
		return nil
	}
	cmd.Flags().BoolVar(&cascade, "cascade", true, "delete what the application deployed too")
	cmd.Flags().StringVarP(&propagation, "propagation-policy", "p", "foreground", "foreground or background")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the application is gone")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --wait, give up after this long (0 waits forever)")
	secondsFlag(cmd, "timeout")
	return cmd
}

// waitDeleted reads the app until it is gone, or timeout passes.
func waitDeleted(ctx context.Context, a apps, name string, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		exists, err := a.Exists(ctx, name)
		if err == nil && !exists {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out (%v) waiting for application %s to be deleted", timeout, name)
		case <-time.After(pollEvery):
		}
	}
}

func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y")
}

func appDiff(conn *connect.Options) *cobra.Command {
	var refresh, hard bool
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show how the live objects differ from Git (exit 1 when they do, 2 on error)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		found, err := runDiff(cmd, conn, appName(args[0]), refreshMode(refresh, hard))
		if err != nil {
			return &output.ExitError{Code: 2, Err: err}
		}
		if found {
			return &output.ExitError{Code: 1, Err: errors.New("the live state differs from the target state")}
		}
		return nil
	}
	cmd.Flags().BoolVar(&refresh, "refresh", false, "compare with the latest commit first")
	cmd.Flags().BoolVar(&hard, "hard-refresh", false, "render again from scratch first")
	return cmd
}

// runDiff prints a unified diff per object that differs and reports
// whether any did.
func runDiff(cmd *cobra.Command, conn *connect.Options, name, refresh string) (bool, error) {
	a, err := newApps(conn)
	if err != nil {
		return false, err
	}
	if refresh != "" {
		if _, err := a.Get(cmd.Context(), name, refresh); err != nil {
			return false, fmt.Errorf("refresh %s: %w", name, err)
		}
	}
	items, err := a.ManagedResources(cmd.Context(), name)
	if err != nil {
		return false, fmt.Errorf("managed resources of %s: %w", name, err)
	}
	w := cmd.OutOrStdout()
	found := false
	for _, it := range items {
		if it.Hook {
			continue
		}
		live, target := it.NormalizedLiveState, it.PredictedLiveState
		if live == "" {
			live = it.LiveState
		}
		if target == "" {
			target = it.TargetState
		}
		if !it.Modified && (live == "") == (target == "") {
			continue
		}
		a, err := yamlOrEmpty(live)
		if err != nil {
			return found, err
		}
		b, err := yamlOrEmpty(target)
		if err != nil {
			return found, err
		}
		if a == b {
			continue
		}
		found = true
		text, err := output.UnifiedDiff("live", "target", a, b)
		if err != nil {
			return found, err
		}
		fmt.Fprintf(w, "\n===== %s/%s %s ======\n%s", it.Group, it.Kind, objName(it.Namespace, it.Name), text)
	}
	return found, nil
}

func yamlOrEmpty(doc string) (string, error) {
	if doc == "" || doc == "null" {
		return "", nil
	}
	y, err := jsonToYAML(doc)
	return string(y), err
}

// waitRefreshed reads the app until the controller has answered a
// refresh requested at resource version requested (before it, before).
func waitRefreshed(ctx context.Context, get func(context.Context) (*argov1.Application, error), before, requested string) (*argov1.Application, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last *argov1.Application
	for {
		app, err := get(ctx)
		if err == nil {
			last = app
			_, pending := app.Annotations[argov1.AnnotationKeyRefresh]
			if !pending && app.ResourceVersion != requested && app.ResourceVersion != before {
				return app, nil
			}
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return last, nil
			}
			return nil, fmt.Errorf("refresh: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

package helm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/postrenderer"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// Release is a Helm release record (one revision).
type Release = release.Release

// Release statuses, as Helm writes them.
const (
	StatusDeployed        = rcommon.StatusDeployed
	StatusFailed          = rcommon.StatusFailed
	StatusSuperseded      = rcommon.StatusSuperseded
	StatusUninstalled     = rcommon.StatusUninstalled
	StatusPendingInstall  = rcommon.StatusPendingInstall
	StatusPendingUpgrade  = rcommon.StatusPendingUpgrade
	StatusPendingRollback = rcommon.StatusPendingRollback
)

// UseFieldManager sets the field manager Helm's kube client applies with.
// Helm keeps it process-wide, so call it once at start.
func UseFieldManager(name string) { kube.ManagedFieldsManager = name }

// Releases runs Helm actions for releases whose records live in one
// namespace of one cluster (Secrets of type helm.sh/release.v1, as the
// helm CLI writes them).
type Releases struct {
	// Cluster is where the release's objects and records go.
	Cluster *Cluster
	// StorageNamespace holds the release records.
	StorageNamespace string
	// MaxHistory bounds the records kept per release; 0 keeps all.
	MaxHistory int
	// Log receives Helm's own log lines; nil discards them.
	Log slog.Handler
	// Observer, when set, serves the waits for readiness (see
	// Observer); nil keeps Helm's status watcher.
	Observer *Observer
}

// config is the Helm configuration of an action in namespace; ctx bounds
// the action's waits.
func (r *Releases) config(ctx context.Context, namespace string) (*action.Configuration, error) {
	getter, err := r.Cluster.getter(namespace)
	if err != nil {
		return nil, err
	}
	h := r.Log
	if h == nil {
		h = slog.DiscardHandler
	}
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(h))
	kc := kube.New(getter)
	kc.Factory = &validatingFactory{Factory: kc.Factory, cluster: r.Cluster}
	kc.Namespace = namespace
	kc.SetLogger(h)
	cfg.RESTClientGetter = getter
	cfg.KubeClient = kc
	if r.Observer != nil {
		cfg.KubeClient = &observedClient{Client: kc, observer: r.Observer, ctx: ctx}
	}
	d := driver.NewSecrets(r.Cluster.clientset.CoreV1().Secrets(r.StorageNamespace))
	d.SetLogger(h)
	cfg.Releases = storage.Init(d)
	cfg.Releases.MaxHistory = r.MaxHistory
	return cfg, nil
}

// History returns every record of name, oldest first; none is not an
// error.
func (r *Releases) History(name string) ([]*Release, error) {
	cfg, err := r.config(context.Background(), r.StorageNamespace)
	if err != nil {
		return nil, err
	}
	list, err := cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of release %s/%s: %w", r.StorageNamespace, name, err)
	}
	out := make([]*Release, 0, len(list))
	for _, l := range list {
		if rel, ok := l.(*Release); ok {
			out = append(out, rel)
		}
	}
	releaseutil.SortByRevision(out)
	return out, nil
}

// Last returns the newest record of name, or nil when there is none.
func (r *Releases) Last(name string) (*Release, error) {
	h, err := r.History(name)
	if err != nil || len(h) == 0 {
		return nil, err
	}
	return h[len(h)-1], nil
}

// Wait says what an action waits for after applying.
type Wait struct {
	// Enabled waits for every object to be ready (kstatus), else only for
	// hooks.
	Enabled bool
	// ForJobs also waits for Jobs to complete.
	ForJobs bool
	// Legacy polls each object instead of watching the release's
	// namespace (Flux's waitStrategy "legacy"): cheaper when a namespace
	// holds many releases, since the watcher reads every object of the
	// kinds it waits for in the namespace.
	Legacy bool
}

func (w Wait) strategy() kube.WaitStrategy {
	switch {
	case w.Enabled && w.Legacy:
		return kube.LegacyStrategy
	case w.Enabled:
		return kube.StatusWatcherStrategy
	}
	return kube.HookOnlyStrategy
}

// ActionOptions are the settings installs and upgrades share.
type ActionOptions struct {
	// Namespace is the release namespace.
	Namespace string
	// Timeout bounds the action, hooks and wait included.
	Timeout time.Duration
	// Wait says what the action waits for after applying.
	Wait                     Wait
	DisableHooks             bool
	DisableOpenAPIValidation bool
	DisableSchemaValidation  bool
	SkipCRDs                 bool
	// TakeOwnership adopts existing objects that no release owns.
	TakeOwnership bool
	// PostRenderer runs over the rendered manifests.
	PostRenderer postrenderer.PostRenderer
	// PostRenderStrategy is "combined" (hooks and templates together,
	// Helm 4's default, also when empty), "separate" or "nohooks".
	PostRenderStrategy string
}

// InstallOptions are the settings of an install.
type InstallOptions struct {
	ActionOptions
	Replace         bool
	CreateNamespace bool
	ServerSideApply bool
}

// postRenderStrategy maps a strategy name to Helm's.
func postRenderStrategy(s string) action.PostRenderStrategy {
	switch s {
	case "separate":
		return action.PostRenderStrategySeparate
	case "nohooks":
		return action.PostRenderStrategyNoHooks
	}
	return action.PostRenderStrategyCombined
}

// Install installs ch as release name.
func (r *Releases) Install(ctx context.Context, name string, ch *Chart, vals map[string]any, o InstallOptions) (*Release, error) {
	cfg, err := r.config(ctx, o.Namespace)
	if err != nil {
		return nil, err
	}
	in := action.NewInstall(cfg)
	in.ReleaseName = name
	in.Namespace, in.Timeout = o.Namespace, o.Timeout
	in.WaitStrategy, in.WaitForJobs, in.WaitOptions = o.Wait.strategy(), o.Wait.ForJobs, []kube.WaitOption{kube.WithWaitContext(ctx)}
	in.DisableHooks, in.DisableOpenAPIValidation, in.SkipSchemaValidation = o.DisableHooks, o.DisableOpenAPIValidation, o.DisableSchemaValidation
	in.SkipCRDs, in.TakeOwnership = o.SkipCRDs, o.TakeOwnership
	in.PostRenderer, in.PostRenderStrategy = o.PostRenderer, postRenderStrategy(o.PostRenderStrategy)
	in.Replace, in.CreateNamespace = o.Replace, o.CreateNamespace
	in.ServerSideApply, in.ForceConflicts = o.ServerSideApply, o.ServerSideApply
	out, err := in.RunWithContext(ctx, ch, vals)
	return asRelease(out), err
}

// UpgradeOptions are the settings of an upgrade.
type UpgradeOptions struct {
	ActionOptions
	Force         bool
	CleanupOnFail bool
	// ServerSideApply is "auto" (as the release was made), "true" or "false".
	ServerSideApply string
}

// Upgrade upgrades release name to ch with vals (values are never reused
// from the previous release: the inputs are the whole truth).
func (r *Releases) Upgrade(ctx context.Context, name string, ch *Chart, vals map[string]any, o UpgradeOptions) (*Release, error) {
	cfg, err := r.config(ctx, o.Namespace)
	if err != nil {
		return nil, err
	}
	up := action.NewUpgrade(cfg)
	up.Namespace, up.Timeout = o.Namespace, o.Timeout
	up.WaitStrategy, up.WaitForJobs, up.WaitOptions = o.Wait.strategy(), o.Wait.ForJobs, []kube.WaitOption{kube.WithWaitContext(ctx)}
	up.DisableHooks, up.DisableOpenAPIValidation, up.SkipSchemaValidation = o.DisableHooks, o.DisableOpenAPIValidation, o.DisableSchemaValidation
	up.SkipCRDs, up.TakeOwnership = o.SkipCRDs, o.TakeOwnership
	up.PostRenderer, up.PostRenderStrategy = o.PostRenderer, postRenderStrategy(o.PostRenderStrategy)
	up.ForceReplace, up.CleanupOnFail = o.Force, o.CleanupOnFail
	up.ServerSideApply = defaultString(o.ServerSideApply, "auto")
	up.ForceConflicts = up.ServerSideApply != "false"
	up.ResetValues = true
	up.MaxHistory = r.MaxHistory
	out, err := up.RunWithContext(ctx, name, ch, vals)
	return asRelease(out), err
}

// RollbackOptions are the settings of a rollback.
type RollbackOptions struct {
	// Version to roll back to; 0 is the previous release.
	Version       int
	Timeout       time.Duration
	Wait          Wait
	DisableHooks  bool
	Force         bool
	CleanupOnFail bool
	// ServerSideApply is "auto", "true" or "false".
	ServerSideApply string
}

// Rollback rolls release name back.
func (r *Releases) Rollback(name, namespace string, o RollbackOptions) error {
	cfg, err := r.config(context.Background(), namespace)
	if err != nil {
		return err
	}
	rb := action.NewRollback(cfg)
	rb.Version = o.Version
	rb.Timeout = o.Timeout
	rb.WaitStrategy = o.Wait.strategy()
	rb.WaitForJobs = o.Wait.ForJobs
	rb.DisableHooks = o.DisableHooks
	rb.ForceReplace = o.Force
	rb.CleanupOnFail = o.CleanupOnFail
	rb.ServerSideApply = defaultString(o.ServerSideApply, "auto")
	rb.ForceConflicts = rb.ServerSideApply != "false"
	rb.MaxHistory = r.MaxHistory
	return rb.Run(name)
}

// UninstallOptions are the settings of an uninstall.
type UninstallOptions struct {
	Timeout             time.Duration
	Wait                Wait
	DisableHooks        bool
	KeepHistory         bool
	DeletionPropagation string
}

// Uninstall removes release name and its objects.
func (r *Releases) Uninstall(name, namespace string, o UninstallOptions) error {
	cfg, err := r.config(context.Background(), namespace)
	if err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.Timeout = o.Timeout
	un.WaitStrategy = o.Wait.strategy()
	un.DisableHooks = o.DisableHooks
	un.KeepHistory = o.KeepHistory
	un.IgnoreNotFound = true
	un.DeletionPropagation = defaultString(o.DeletionPropagation, "background")
	_, err = un.Run(name)
	return err
}

// Test runs the test hooks of release name; filters name hooks to run
// ("name=x") or skip ("!name=x").
func (r *Releases) Test(name, namespace string, timeout time.Duration, filters map[string][]string) (*Release, error) {
	cfg, err := r.config(context.Background(), namespace)
	if err != nil {
		return nil, err
	}
	t := action.NewReleaseTesting(cfg)
	t.Namespace = namespace
	t.Timeout = timeout
	if filters != nil {
		t.Filters = filters
	}
	out, shutdown, err := t.Run(name)
	if shutdown != nil {
		_ = shutdown()
	}
	return asRelease(out), err
}

// Unlock marks a release left pending (by a crash or a timeout of the
// process that ran it) as failed, so that the next action may proceed.
func (r *Releases) Unlock(rel *Release) error {
	cfg, err := r.config(context.Background(), rel.Namespace)
	if err != nil {
		return err
	}
	rel.SetStatus(StatusFailed, fmt.Sprintf("Release unlocked from stale '%s' state", rel.Info.Status))
	if err := cfg.Releases.Update(rel); err != nil {
		return fmt.Errorf("unlock release %s/%s: %w", r.StorageNamespace, rel.Name, err)
	}
	return nil
}

// IsPending reports whether rel is locked by an action in progress.
func IsPending(rel *Release) bool {
	return rel != nil && rel.Info != nil && strings.HasPrefix(string(rel.Info.Status), "pending-")
}

func asRelease(v any) *Release {
	if rel, ok := v.(*Release); ok {
		return rel
	}
	return nil
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

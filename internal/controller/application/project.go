package application

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/health"
	"github.com/tether-gitops/tether/internal/project"
)

// projectIndex indexes Applications by spec.project, so a changed
// AppProject wakes its apps.
const projectIndex = ".spec.project"

// target is where and under which rules an app syncs.
type target struct {
	proj   *project.Project
	dest   *destination
	eng    *engine.Engine
	health *health.Scripts // argocd-cm's Lua health checks; nil: none
}

// validate checks what must hold before anything is fetched and returns
// the app's target: sources and destination present, the project found
// (the built-in default permits everything, as in Argo CD), the
// destination cluster registered, and the project's rules met by the app's
// namespace, sources and destination.
func (r *Reconciler) validate(ctx context.Context, app *argov1.Application) (*target, error) {
	srcs := app.Spec.GetSources()
	if len(srcs) == 0 {
		return nil, errors.New("spec.source or spec.sources is required")
	}
	for i, s := range srcs {
		if s.RepoURL == "" {
			return nil, fmt.Errorf("spec.sources[%d].repoURL is required", i)
		}
	}
	d := app.Spec.Destination
	if d.Server == "" && d.Name == "" {
		return nil, errors.New("spec.destination: server or name is required")
	}
	proj, err := r.project(ctx, app.Spec.Project)
	if err != nil {
		return nil, err
	}
	if !proj.PermitsSourceNamespace(app.Namespace, r.ControlPlaneNamespace) {
		return nil, fmt.Errorf("application in namespace %s is not permitted in project '%s' (spec.sourceNamespaces)", app.Namespace, proj.Name)
	}
	for _, s := range srcs {
		if !proj.PermitsSource(s.RepoURL) {
			return nil, fmt.Errorf("application repo %s is not permitted in project '%s'", s.RepoURL, proj.Name)
		}
	}
	dest, err := r.destination(ctx, app)
	if err != nil {
		return nil, err
	}
	if !proj.PermitsDestination(dest.resolve(d)) {
		return nil, fmt.Errorf("application destination server '%s' and namespace '%s' do not match any of the allowed destinations in project '%s'",
			dest.server, d.Namespace, proj.Name)
	}
	if err := r.impersonate(ctx, dest, proj, app); err != nil {
		return nil, err
	}
	eng, err := engine.New(dest.client, r.owner(app), r.engineOptions(app, dest)...)
	if err != nil {
		return nil, err
	}
	scripts, err := r.healthScripts(ctx)
	if err != nil {
		return nil, err
	}
	return &target{proj: proj, dest: dest, eng: eng, health: scripts}, nil
}

// engineOptions reads the app's cluster through its live cache, unless
// the app ignores differences by field manager (the cache keeps no
// managedFields) or the cluster's watches cannot be set up (reported
// when the app's kinds are watched).
func (r *Reconciler) engineOptions(app *argov1.Application, dest *destination) []engine.Option {
	for _, d := range app.Spec.IgnoreDifferences {
		if len(d.ManagedFieldsManagers) > 0 {
			return nil
		}
	}
	_, live, err := r.clusterWatch(dest)
	if err != nil || live == nil {
		return nil
	}
	return []engine.Option{engine.WithLiveCache(live, dest.identity())}
}

// project reads the app's AppProject from the control-plane namespace.
func (r *Reconciler) project(ctx context.Context, name string) (*project.Project, error) {
	if name == "" {
		return nil, errors.New("spec.project is required")
	}
	var p argov1.AppProject
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.ControlPlaneNamespace, Name: name}, &p)
	switch {
	case apierrors.IsNotFound(err) && name == argov1.DefaultAppProjectName:
		return project.Default(), nil
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("Application referencing project %s which does not exist", name)
	case err != nil:
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	if err := project.Validate(&p); err != nil {
		return nil, fmt.Errorf("project %s is invalid: %w", name, err)
	}
	return project.New(&p), nil
}

// permitted checks every object and hook this sync would write against the
// project's resource rules and destinations; the refusals name the object,
// its file and the rule.
func (s *syncRun) permitted() []string {
	if s.proj == nil {
		return nil
	}
	var errs []string
	check := func(obj *unstructured.Unstructured, what, source string) {
		gvk := obj.GroupVersionKind()
		ns := obj.GetNamespace()
		err := s.proj.PermitsObject(gvk.Group, gvk.Kind, obj.GetName(), ns, ns != "", s.dest.resolve(s.app.Spec.Destination))
		if cl := s.dest.cluster; err == nil && cl != nil && len(cl.Namespaces) > 0 {
			switch {
			case ns == "" && !cl.ClusterResources:
				err = clusterScopedRefused(cl)
			case ns != "" && !slices.Contains(cl.Namespaces, ns):
				// The destination namespace passed when the app was
				// read; an object may name its own.
				err = fmt.Errorf("namespace %s is not managed on cluster %s (its Secret lists %v)", ns, cl.Name, cl.Namespaces)
			}
		}
		if err != nil {
			msg := fmt.Sprintf("%s (%s): %v", what, source, err)
			s.result(obj, argov1.ResultCodeSyncFailed, argov1.SyncPhaseSync, msg)
			errs = append(errs, msg)
		}
	}
	for _, res := range s.selected() {
		check(res.Desired, subjectOf(res.Desired), res.Source)
	}
	// managedNamespaceMetadata writes the destination Namespace's labels
	// and annotations (pod security levels among them): a cluster-scoped
	// write the project and the cluster Secret must allow like any other.
	if ns := s.app.Spec.Destination.Namespace; ns != "" && s.opts.Has(argov1.SyncOptionCreateNamespace) && managedNamespaceMetadata(s.app) != nil {
		err := s.proj.PermitsResource("", "Namespace", ns, false)
		if cl := s.dest.cluster; err == nil && cl != nil && len(cl.Namespaces) > 0 && !cl.ClusterResources {
			err = clusterScopedRefused(cl)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("managedNamespaceMetadata of Namespace %s: %v", ns, err))
		}
	}
	for _, h := range s.runnableHooks() {
		if obj, err := s.hookObject(h); err == nil { // dryRunHooks reports the others
			check(obj, "hook "+hookName(obj), h.Source)
		}
	}
	return errs
}

// windowBlocks says why the project's sync windows forbid this sync now,
// or "" when they allow it.
func (r *Reconciler) windowBlocks(t *target, app *argov1.Application, manual bool) string {
	if t == nil || t.proj == nil {
		return ""
	}
	ok, reason := t.proj.CanSync(app.Name, t.dest.resolve(app.Spec.Destination), manual, r.now())
	if ok {
		return ""
	}
	if reason == "" {
		reason = "blocked by sync window"
	}
	return reason
}

// defaultProject creates the AppProject named default in the control-plane
// namespace when it is missing, permitting everything, as Argo CD does at
// start; users may then restrict it. A missing namespace is not an error:
// nothing is created then and the built-in default applies.
type defaultProject struct {
	client    client.Client
	namespace string
}

// Start creates the project once and returns.
func (d defaultProject) Start(ctx context.Context) error {
	p := &argov1.AppProject{}
	p.Namespace, p.Name = d.namespace, argov1.DefaultAppProjectName
	p.Spec = project.Default().Spec
	err := d.client.Create(ctx, p)
	if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
		log.FromContext(ctx).Info("cannot create the default AppProject", "error", err.Error())
	}
	return nil
}

// NeedLeaderElection makes only the leader create it.
func (defaultProject) NeedLeaderElection() bool { return true }

// clusterScopedRefused is why a namespace-limited cluster refuses a
// cluster-scoped object.
func clusterScopedRefused(cl *cluster.Cluster) error {
	return fmt.Errorf("cluster %s is limited to namespaces %v and its Secret does not allow cluster-scoped objects (clusterResources)", cl.Name, cl.Namespaces)
}

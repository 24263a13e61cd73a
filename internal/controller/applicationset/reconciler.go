// Package applicationset is the ApplicationSet controller: a thin adapter
// that has internal/appset generate the Applications a set stands for and
// keeps the owned Applications equal to them (as its syncPolicy allows),
// rolling changes out step by step under a RollingSync strategy. The
// Applications themselves are synced by the Application controller.
package applicationset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/appset"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/shard"
)

// DefaultRequeueAfter is how often a set with a git or clusters generator
// is generated again without an event (Argo CD's default, 3 minutes).
const DefaultRequeueAfter = 3 * time.Minute

// rolloutPoll is how soon a set whose RollingSync is under way looks at
// its Applications again (their changes wake it too).
const rolloutPoll = 5 * time.Second

// Repos checks out Git repositories as Applications of a project would
// (the Application controller's CheckoutRevision).
type Repos interface {
	CheckoutRevision(ctx context.Context, project, repoURL, revision string) (dir string, release func(), err error)
}

// Reconciler reconciles argoproj.io/v1alpha1 ApplicationSets.
type Reconciler struct {
	// Client reads through the manager's cache and writes.
	Client client.Client
	// Repos reads the repositories of git generators.
	Repos Repos
	// Namespace is the control-plane namespace: cluster Secrets and
	// AppProjects live there.
	Namespace string
	// Events records Kubernetes events; may be nil.
	Events lifecycle.EventRecorder
	// Shard, when set, is this replica's share of the objects.
	Shard *shard.Membership
	// RequeueAfter is how often sets are generated again without an
	// event (DefaultRequeueAfter when 0).
	RequeueAfter time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ownerKey indexes Applications by the ApplicationSet that controls them.
const ownerKey = ".metadata.controller.applicationset"

// SetupWithManager registers the controller: sets, the Applications they
// own (their status drives RollingSync and the set's resources list) and
// cluster Secrets (the clusters generator).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &argov1.Application{}, ownerKey, func(o client.Object) []string {
		if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "ApplicationSet" && ref.APIVersion == argov1.GroupVersion.String() {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&argov1.ApplicationSet{}).
		Owns(&argov1.Application{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.setsOfNamespace),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.GetNamespace() == r.Namespace && o.GetLabels()[argov1.LabelKeySecretType] == argov1.SecretTypeCluster
			}))).
		Named("applicationset").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &argov1.ApplicationSetList{})).
		Complete(r)
}

// setsOfNamespace wakes every set of the control-plane namespace (a
// cluster Secret changed).
func (r *Reconciler) setsOfNamespace(ctx context.Context, _ client.Object) []reconcile.Request {
	var sets argov1.ApplicationSetList
	if err := r.Client.List(ctx, &sets, client.InNamespace(r.Namespace)); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(sets.Items))
	for _, s := range sets.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
	}
	return out
}

// Reconcile generates one set's Applications and brings the owned ones
// in line.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	set := &argov1.ApplicationSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("ApplicationSet", set)) || !set.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owned Applications go with the set (garbage collection)
	}
	before := set.DeepCopy()
	requeue := r.requeueAfter()
	apps, err := r.generate(ctx, set)
	if err == nil {
		var rolling bool
		rolling, err = r.apply(ctx, set, apps)
		if err == nil && rolling {
			requeue = rolloutPoll
		}
	}
	r.setConditions(set, err)
	if perr := lifecycle.PatchStatus(ctx, r.Client, r.Client, before, set); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	if err != nil {
		log.FromContext(ctx).Info("ApplicationSet failed", "error", err.Error())
		r.event(set, corev1.EventTypeWarning, "ApplicationSetError", err.Error())
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

func (r *Reconciler) requeueAfter() time.Duration {
	if r.RequeueAfter > 0 {
		return r.RequeueAfter
	}
	return DefaultRequeueAfter
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) event(set *argov1.ApplicationSet, typ, reason, msg string) {
	if r.Events != nil {
		r.Events.Eventf(set, nil, typ, reason, reason, "%s", msg)
	}
}

// generate renders set's Applications and checks their projects exist.
func (r *Reconciler) generate(ctx context.Context, set *argov1.ApplicationSet) ([]*argov1.Application, error) {
	g := &appset.Generator{Sources: &sources{r: r, project: templateProject(set)}}
	apps, err := g.Applications(ctx, set)
	if err != nil {
		return nil, err
	}
	checked := map[string]bool{}
	for _, app := range apps {
		p := app.Spec.Project
		if p == "" {
			return nil, fmt.Errorf("Application %s: spec.project is required", app.Name)
		}
		if checked[p] || p == argov1.DefaultAppProjectName {
			continue
		}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: p}, &argov1.AppProject{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("application references project %s which does not exist", p)
			}
			return nil, err
		}
		checked[p] = true
	}
	return apps, nil
}

// templateProject is the project whose repository credentials the git
// generators use: the template's, unless it is itself templated.
func templateProject(set *argov1.ApplicationSet) string {
	if p := set.Spec.Template.Spec.Project; !strings.Contains(p, "{{") {
		return p
	}
	return ""
}

// policy is set's applicationsSync policy (sync when unset).
func policy(set *argov1.ApplicationSet) argov1.ApplicationsSyncPolicy {
	if sp := set.Spec.SyncPolicy; sp != nil && sp.ApplicationsSync != nil {
		return *sp.ApplicationsSync
	}
	return argov1.ApplicationsSyncPolicySync
}

func preserve(set *argov1.ApplicationSet) bool {
	return set.Spec.SyncPolicy != nil && set.Spec.SyncPolicy.PreserveResourcesOnDeletion
}

func rollingSync(set *argov1.ApplicationSet) bool {
	return set.Spec.Strategy != nil && set.Spec.Strategy.Type == "RollingSync"
}

// isResourcesFinalizer reports whether f is one of Argo CD's resources
// finalizers (which delete an Application's objects with it).
func isResourcesFinalizer(f string) bool {
	return f == argov1.ResourcesFinalizerName || strings.HasPrefix(f, argov1.ResourcesFinalizerName+"/")
}

// prepare makes a generated Application one the set owns: the owner
// reference, the resources finalizer unless the set preserves resources
// (then none), and no automated sync under RollingSync (the set syncs).
func (r *Reconciler) prepare(set *argov1.ApplicationSet, app *argov1.Application) error {
	if err := controllerutil.SetControllerReference(set, app, r.Client.Scheme()); err != nil {
		return err
	}
	if preserve(set) {
		app.Finalizers = slices.DeleteFunc(app.Finalizers, isResourcesFinalizer)
	} else if !slices.ContainsFunc(app.Finalizers, isResourcesFinalizer) {
		app.Finalizers = append(app.Finalizers, argov1.ResourcesFinalizerName)
	}
	if rollingSync(set) && app.Spec.SyncPolicy != nil {
		app.Spec.SyncPolicy.Automated = nil
	}
	return nil
}

// defaultPreservedAnnotations are kept on update whatever the set says:
// others write them (refresh requests, notification state).
var defaultPreservedAnnotations = []string{"argocd.argoproj.io/refresh", "argocd.argoproj.io/hydrate", "notified.notifications.argoproj.io"}

// apply creates, updates and deletes the set's Applications as its policy
// allows, then fills in its status. It reports whether a RollingSync is
// under way.
func (r *Reconciler) apply(ctx context.Context, set *argov1.ApplicationSet, desired []*argov1.Application) (bool, error) {
	var owned argov1.ApplicationList
	if err := r.Client.List(ctx, &owned, client.InNamespace(set.Namespace), client.MatchingFields{ownerKey: set.Name}); err != nil {
		return false, err
	}
	existing := map[string]*argov1.Application{}
	for i := range owned.Items {
		if a := &owned.Items[i]; metav1.IsControlledBy(a, set) {
			existing[a.Name] = a
		}
	}
	pol := policy(set)
	var errs []error
	current := make([]*argov1.Application, 0, len(desired))
	for _, want := range desired {
		if err := r.prepare(set, want); err != nil {
			return false, err
		}
		have, ok := existing[want.Name]
		delete(existing, want.Name)
		if !ok {
			err := r.Client.Create(ctx, want)
			if apierrors.IsAlreadyExists(err) {
				err = fmt.Errorf("Application %s already exists and is not owned by this ApplicationSet", want.Name)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			current = append(current, want)
			continue
		}
		if pol == argov1.ApplicationsSyncPolicyCreateOnly || pol == argov1.ApplicationsSyncPolicyCreateDelete {
			current = append(current, have)
			continue
		}
		updated, changed := merged(set, have, want)
		if changed {
			if err := r.Client.Update(ctx, updated); err != nil {
				errs = append(errs, fmt.Errorf("update Application %s: %w", want.Name, err))
				current = append(current, have)
				continue
			}
		}
		current = append(current, updated)
	}
	if pol == argov1.ApplicationsSyncPolicySync || pol == argov1.ApplicationsSyncPolicyCreateDelete {
		for _, name := range slices.Sorted(maps.Keys(existing)) {
			if err := r.remove(ctx, set, existing[name]); err != nil {
				errs = append(errs, err)
			}
		}
	} else {
		for _, name := range slices.Sorted(maps.Keys(existing)) {
			current = append(current, existing[name])
		}
	}
	rolling := false
	if rollingSync(set) {
		var err error
		if rolling, err = r.rollout(ctx, set, current); err != nil {
			errs = append(errs, err)
		}
	} else {
		set.Status.ApplicationStatus = nil
	}
	set.Status.Resources = resources(current)
	set.Status.ResourcesCount = int64(len(current))
	return rolling, errors.Join(errs...)
}

// merged returns have with want's labels, annotations, finalizers and
// spec (keeping the annotations and labels others own), and whether that
// changes anything.
func merged(set *argov1.ApplicationSet, have, want *argov1.Application) (*argov1.Application, bool) {
	out := have.DeepCopy()
	keepA := slices.Clone(defaultPreservedAnnotations)
	var keepL []string
	if pf := set.Spec.PreservedFields; pf != nil {
		keepA = append(keepA, pf.Annotations...)
		keepL = pf.Labels
	}
	out.Annotations = keep(want.Annotations, have.Annotations, keepA)
	out.Labels = keep(want.Labels, have.Labels, keepL)
	out.Finalizers = want.Finalizers
	for _, f := range have.Finalizers {
		if !isResourcesFinalizer(f) && !slices.Contains(out.Finalizers, f) {
			out.Finalizers = append(out.Finalizers, f)
		}
	}
	out.Spec = want.Spec
	out.OwnerReferences = want.OwnerReferences
	return out, !sameJSON(out.ObjectMeta, have.ObjectMeta) || !sameJSON(out.Spec, have.Spec)
}

// keep returns want with the keys of have that are in preserved.
func keep(want, have map[string]string, preserved []string) map[string]string {
	out := maps.Clone(want)
	for _, k := range preserved {
		if v, ok := have[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// remove deletes an Application the set no longer generates; with
// preserveResourcesOnDeletion its resources finalizer goes first, so its
// objects stay.
func (r *Reconciler) remove(ctx context.Context, set *argov1.ApplicationSet, app *argov1.Application) error {
	if preserve(set) && slices.ContainsFunc(app.Finalizers, isResourcesFinalizer) {
		patch := client.MergeFrom(app.DeepCopy())
		app.Finalizers = slices.DeleteFunc(app.Finalizers, isResourcesFinalizer)
		if err := r.Client.Patch(ctx, app, patch); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove the resources finalizer of Application %s: %w", app.Name, err)
		}
	}
	if err := r.Client.Delete(ctx, app); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Application %s: %w", app.Name, err)
	}
	r.event(set, corev1.EventTypeNormal, "Deleted", "deleted Application "+app.Name)
	return nil
}

// resources lists the set's Applications with their sync and health.
func resources(apps []*argov1.Application) []argov1.ResourceStatus {
	out := make([]argov1.ResourceStatus, 0, len(apps))
	for _, a := range apps {
		rs := argov1.ResourceStatus{Group: argov1.GroupVersion.Group, Version: argov1.GroupVersion.Version, Kind: "Application",
			Namespace: a.Namespace, Name: a.Name, Status: a.Status.Sync.Status}
		if a.Status.Health.Status != "" {
			rs.Health = &argov1.HealthStatus{Status: a.Status.Health.Status, Message: a.Status.Health.Message}
		}
		out = append(out, rs)
	}
	slices.SortFunc(out, func(a, b argov1.ResourceStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// setConditions records the outcome as Argo CD's four conditions.
func (r *Reconciler) setConditions(set *argov1.ApplicationSet, err error) {
	if err != nil {
		msg := err.Error()
		r.condition(set, argov1.ApplicationSetConditionErrorOccurred, "True", "ApplicationGenerationFromParamsError", msg)
		r.condition(set, argov1.ApplicationSetConditionParametersGenerated, "False", "ErrorOccurred", msg)
		r.condition(set, argov1.ApplicationSetConditionResourcesUpToDate, "False", "ErrorOccurred", msg)
		return
	}
	r.condition(set, argov1.ApplicationSetConditionErrorOccurred, "False", "ApplicationSetUpToDate", "All applications have been generated successfully")
	r.condition(set, argov1.ApplicationSetConditionParametersGenerated, "True", "ParametersGenerated", "Successfully generated parameters for all Applications")
	r.condition(set, argov1.ApplicationSetConditionResourcesUpToDate, "True", "ApplicationSetUpToDate", "All applications have been generated successfully")
}

// condition sets one condition, keeping its transition time when its
// status does not change.
func (r *Reconciler) condition(set *argov1.ApplicationSet, typ, status, reason, msg string) {
	for i := range set.Status.Conditions {
		c := &set.Status.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status != status {
			now := metav1.NewTime(r.now())
			c.LastTransitionTime = &now
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		return
	}
	now := metav1.NewTime(r.now())
	set.Status.Conditions = append(set.Status.Conditions, argov1.ApplicationSetCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: &now})
}

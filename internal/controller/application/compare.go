package application

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/health"
	"github.com/tether-gitops/tether/internal/render"
)

// resource is one desired (non-hook) object beside the cluster.
type resource struct {
	engine.Comparison
	wave    int
	options diff.SyncOptions
	sync    argov1.SyncStatusCode
	health  *argov1.HealthStatus
	shared  string // another app that tracks the live object
}

// extraneous is a live object the app tracks but no longer renders.
type extraneous struct {
	ref     argov1.ResourceStatus
	live    *metav1.PartialObjectMetadata
	options diff.SyncOptions
	ignore  bool // compare-options: IgnoreExtraneous
}

// comparison is one refresh: the rendered revision, its objects beside
// the cluster and what is left over.
type comparison struct {
	m          *manifests
	resources  []*resource
	hooks      []render.Object
	extraneous []*extraneous
	normalizer *diff.Normalizer
	scripts    *health.Scripts // argocd-cm's Lua health checks, for the sync's waits too
	// watchedBefore: every kind of the app's objects was watched before
	// this comparison, so no change of them can have slipped past the
	// watches while they started (quiet.go relies on it).
	watchedBefore bool
}

// hookTypes returns obj's hook types (argocd.argoproj.io/hook); none when
// it is not a hook.
func hookTypes(obj *unstructured.Unstructured) []argov1.HookType {
	v, ok := obj.GetAnnotations()[argov1.AnnotationHook]
	if !ok {
		return nil
	}
	var out []argov1.HookType
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, argov1.HookType(t))
		}
	}
	return out
}

// waveOf reads argocd.argoproj.io/sync-wave (0 when unset or invalid).
func waveOf(obj metav1.Object) int {
	w, err := strconv.Atoi(strings.TrimSpace(obj.GetAnnotations()[argov1.AnnotationSyncWave]))
	if err != nil {
		return 0
	}
	return w
}

// compare renders nothing itself: it sets the rendered objects m beside
// the cluster with one server-side dry run each.
func (r *Reconciler) compare(ctx context.Context, app *argov1.Application, t *target, m *manifests) (*comparison, error) {
	norm, err := diff.New(rulesOf(app.Spec.IgnoreDifferences))
	if err != nil {
		return nil, fmt.Errorf("spec.ignoreDifferences: %w", err)
	}
	c := &comparison{m: m, normalizer: norm, scripts: t.health}
	var inputs []engine.Input
	for _, o := range m.objects {
		switch types := hookTypes(o.Obj); {
		case len(types) > 0:
			if !slices.Contains(types, argov1.HookTypeSkip) {
				c.hooks = append(c.hooks, o)
			}
		default:
			inputs = append(inputs, inputOf(o.Obj, o.Source, appSyncOptions(app)))
		}
	}
	cmps, err := t.eng.Compare(ctx, inputs, r.applyOptions(app))
	if err != nil {
		return nil, err
	}
	self := appID(keyOf(app), r.ControlPlaneNamespace)
	for _, cmp := range cmps {
		res := &resource{Comparison: cmp, wave: waveOf(cmp.Desired), options: diff.ParseSyncOptions(cmp.Desired)}
		res.sync = argov1.SyncStatusCodeOutOfSync
		if cmp.Live != nil {
			if other, ok := trackedBy(cmp.Live, cmp.Live.GroupVersionKind().GroupKind()); ok && other != self {
				res.shared = other
			}
			if cmp.Err == nil && cmp.Predicted != nil && r.equal(norm, cmp.Live, cmp.Predicted) {
				res.sync = argov1.SyncStatusCodeSynced
			}
		}
		res.health = healthOf(ctx, c.scripts, cmp.Live)
		c.resources = append(c.resources, res)
	}
	c.extraneous, err = r.leftovers(ctx, app, t.dest, c.resources)
	return c, err
}

// appSyncOptions are spec.syncPolicy.syncOptions.
func appSyncOptions(app *argov1.Application) diff.SyncOptions {
	if app.Spec.SyncPolicy == nil {
		return diff.NewSyncOptions(nil)
	}
	return diff.NewSyncOptions(app.Spec.SyncPolicy.SyncOptions)
}

// inputOf is obj as an engine input: written by create/update with
// Replace=true, with unknown fields dropped with Validate=false (the
// object's annotation wins over the app's list).
func inputOf(obj *unstructured.Unstructured, source string, appOpts diff.SyncOptions) engine.Input {
	opts := appOpts.Override(diff.ParseSyncOptions(obj))
	return engine.Input{Obj: obj, Source: source,
		Replace: opts.Has(argov1.SyncOptionReplace), Lenient: opts.Has(argov1.SyncOptionValidateFalse)}
}

// equal compares live and predicted after ignoreDifferences.
func (r *Reconciler) equal(norm *diff.Normalizer, live, predicted *unstructured.Unstructured) bool {
	l, p := live.DeepCopy(), predicted.DeepCopy()
	if err := norm.Normalize(l, p); err != nil {
		return !engine.Drifted(live, predicted)
	}
	return diff.Equal(l, p)
}

// leftovers finds the objects the app tracked at its last refresh
// (status.resources) that it no longer renders and that still carry its
// tracking annotation.
func (r *Reconciler) leftovers(ctx context.Context, app *argov1.Application, dest *destination, desired []*resource) ([]*extraneous, error) {
	want := map[string]bool{}
	for _, res := range desired {
		want[res.ID] = true
	}
	self := appID(keyOf(app), r.ControlPlaneNamespace)
	var out []*extraneous
	for _, st := range app.Status.Resources {
		if st.Hook {
			continue
		}
		gk := schema.GroupKind{Group: st.Group, Kind: st.Kind}
		if want[engine.ID(gk, st.Namespace, st.Name)] {
			continue
		}
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(gk.WithVersion(st.Version))
		err := dest.reader.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Name}, live)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("read %s %s/%s: %w", st.Kind, st.Namespace, st.Name, err)
		}
		if owner, ok := trackedBy(live, gk); !ok || owner != self {
			continue
		}
		st.Status, st.Health, st.RequiresPruning = argov1.SyncStatusCodeOutOfSync, nil, true
		out = append(out, &extraneous{ref: st, live: live, options: diff.ParseSyncOptions(live),
			ignore: diff.ParseCompareOptions(live).IgnoreExtraneous})
	}
	return out, nil
}

// rememberApplied adds the objects the last sync applied to
// status.resources, so that the next comparison still finds them when the
// revision it compares no longer renders them (after a rollback or a sync
// to another revision): they are then left-overs, shown and pruned.
func rememberApplied(app *argov1.Application) {
	st := app.Status.OperationState
	if st == nil || st.SyncResult == nil {
		return
	}
	have := map[string]bool{}
	for _, r := range app.Status.Resources {
		have[statusID(r)] = true
	}
	for _, res := range st.SyncResult.Resources {
		rs := argov1.ResourceStatus{Group: res.Group, Version: res.Version, Kind: res.Kind,
			Namespace: res.Namespace, Name: res.Name, Status: argov1.SyncStatusCodeOutOfSync}
		if res.HookType != "" || res.Status != argov1.ResultCodeSynced || have[statusID(rs)] {
			continue
		}
		have[statusID(rs)] = true
		app.Status.Resources = append(app.Status.Resources, rs)
	}
}

// statusID is the engine's id of an object listed in status.resources.
func statusID(r argov1.ResourceStatus) string {
	return engine.ID(schema.GroupKind{Group: r.Group, Kind: r.Kind}, r.Namespace, r.Name)
}

func rulesOf(in []argov1.ResourceIgnoreDifferences) []diff.Rule {
	out := make([]diff.Rule, 0, len(in))
	for _, d := range in {
		out = append(out, diff.Rule{Group: d.Group, Kind: d.Kind, Name: d.Name, Namespace: d.Namespace,
			JSONPointers: d.JSONPointers, JQPathExpressions: d.JQPathExpressions, ManagedFieldsManagers: d.ManagedFieldsManagers})
	}
	return out
}

// errors joins the objects' dry-run failures, each naming its file.
func (c *comparison) errors() string {
	var msgs []string
	for _, res := range c.resources {
		if res.Err != nil {
			msgs = append(msgs, res.Err.Error())
		}
	}
	return strings.Join(msgs, "; ")
}

// syncStatus is the app's: OutOfSync when any object is, or when a tracked
// object is left over (unless it asks to be ignored).
func (c *comparison) syncStatus() argov1.SyncStatusCode {
	for _, res := range c.resources {
		if res.sync != argov1.SyncStatusCodeSynced {
			return argov1.SyncStatusCodeOutOfSync
		}
	}
	for _, x := range c.extraneous {
		if !x.ignore {
			return argov1.SyncStatusCodeOutOfSync
		}
	}
	return argov1.SyncStatusCodeSynced
}

// health is the worst health of the app's objects.
func (c *comparison) health() argov1.HealthStatus {
	var statuses []health.Status
	for _, res := range c.resources {
		if res.health != nil {
			statuses = append(statuses, health.Status(res.health.Status))
		}
	}
	worst := argov1.HealthStatusCode(health.Worst(statuses...))
	return argov1.HealthStatus{Status: worst}
}

// statusResources is status.resources: every object, sorted as Argo CD
// lists them (by group, kind, namespace, name).
func (c *comparison) statusResources() []argov1.ResourceStatus {
	out := make([]argov1.ResourceStatus, 0, len(c.resources)+len(c.extraneous))
	for _, res := range c.resources {
		gvk := res.Desired.GroupVersionKind()
		out = append(out, argov1.ResourceStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
			Namespace: res.Desired.GetNamespace(), Name: res.Desired.GetName(), Status: res.sync,
			Health: res.health, SyncWave: int64(res.wave)})
	}
	for _, x := range c.extraneous {
		out = append(out, x.ref)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return strings.Join([]string{a.Group, a.Kind, a.Namespace, a.Name}, "/") <
			strings.Join([]string{b.Group, b.Kind, b.Namespace, b.Name}, "/")
	})
	return out
}

// summary lists the images of the live workloads and the URLs of their
// Ingresses.
func (c *comparison) summary() argov1.ApplicationSummary {
	var s argov1.ApplicationSummary
	seen := map[string]bool{}
	for _, res := range c.resources {
		if res.Live == nil {
			continue
		}
		for _, img := range imagesOf(res.Live) {
			if !seen[img] {
				seen[img] = true
				s.Images = append(s.Images, img)
			}
		}
		s.ExternalURLs = append(s.ExternalURLs, urlsOf(res.Live)...)
	}
	sort.Strings(s.Images)
	sort.Strings(s.ExternalURLs)
	return s
}

func imagesOf(u *unstructured.Unstructured) []string {
	paths := [][]string{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}, {"spec"}}
	for _, p := range paths {
		var out []string
		for _, field := range []string{"initContainers", "containers"} {
			list, _, _ := unstructured.NestedSlice(u.Object, append(p, field)...)
			for _, c := range list {
				if m, ok := c.(map[string]any); ok {
					if img, ok := m["image"].(string); ok && img != "" {
						out = append(out, img)
					}
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

func urlsOf(u *unstructured.Unstructured) []string {
	if u.GetKind() != "Ingress" {
		return nil
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	tls, _, _ := unstructured.NestedSlice(u.Object, "spec", "tls")
	scheme := "http://"
	if len(tls) > 0 {
		scheme = "https://"
	}
	var out []string
	for _, rule := range rules {
		if m, ok := rule.(map[string]any); ok {
			if host, ok := m["host"].(string); ok && host != "" && !strings.Contains(host, "*") {
				out = append(out, scheme+host)
			}
		}
	}
	return out
}

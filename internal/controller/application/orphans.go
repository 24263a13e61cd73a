package application

import (
	"context"
	"fmt"
	"path"

	"k8s.io/apimachinery/pkg/runtime/schema"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// builtinOrphans are objects that Kubernetes itself puts into every
// namespace; they are never reported as orphaned.
var builtinOrphans = map[schema.GroupKind]string{
	{Kind: "ConfigMap"}:      "kube-root-ca.crt",
	{Kind: "ServiceAccount"}: "default",
}

// orphans counts the objects in the app's destination namespace that no
// app tracks, for the project's orphanedResources monitoring. It looks at
// the kinds the app itself deploys (those are watched); objects the
// project's ignore list names are left out.
func (r *Reconciler) orphans(ctx context.Context, app *argov1.Application, t *target, cmp *comparison) (int, error) {
	settings := t.proj.Spec.OrphanedResources
	ns := app.Spec.Destination.Namespace
	if settings == nil || ns == "" {
		return 0, nil
	}
	w, err := r.watcherFor(t.dest)
	if err != nil {
		return 0, err
	}
	seen := map[schema.GroupVersionKind]bool{}
	count := 0
	for _, res := range cmp.resources {
		gvk := res.Desired.GroupVersionKind()
		if seen[gvk] || res.Desired.GetNamespace() == "" {
			continue
		}
		seen[gvk] = true
		items, err := w.List(ctx, gvk, ns)
		if err != nil {
			return 0, err
		}
		for _, o := range items {
			if _, tracked := o.Annotations[argov1.AnnotationKeyTrackingID]; tracked || len(o.OwnerReferences) > 0 {
				continue
			}
			if builtinOrphans[gvk.GroupKind()] == o.Name || ignoredOrphan(settings.Ignore, gvk.GroupKind(), o.Name) {
				continue
			}
			count++
		}
	}
	return count, nil
}

// ignoredOrphan reports whether the ignore list (group, kind, name globs)
// names the object.
func ignoredOrphan(ignore []argov1.OrphanedResourceKey, gk schema.GroupKind, name string) bool {
	match := func(pattern, s string) bool {
		ok, _ := path.Match(pattern, s)
		return pattern == "" || ok
	}
	for _, k := range ignore {
		if match(k.Group, gk.Group) && match(k.Kind, gk.Kind) && match(k.Name, name) {
			return true
		}
	}
	return false
}

// orphanWarning sets or clears OrphanedResourceWarning (only with
// orphanedResources.warn, as in Argo CD).
func (r *Reconciler) orphanWarning(ctx context.Context, app *argov1.Application, t *target, cmp *comparison) {
	settings := t.proj.Spec.OrphanedResources
	n, err := r.orphans(ctx, app, t, cmp)
	if err != nil || settings == nil || settings.Warn == nil || !*settings.Warn || n == 0 {
		clearCondition(app, argov1.ApplicationConditionOrphanedResourceWarning)
		return
	}
	setCondition(app, argov1.ApplicationConditionOrphanedResourceWarning, fmt.Sprintf("Application has %d orphaned resources", n), r.now())
}

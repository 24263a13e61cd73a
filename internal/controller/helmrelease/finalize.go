package helmrelease

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/helm"
)

// finalize uninstalls the release (unless suspended, or never made),
// deletes the HelmChart made for it and lets the object go.
func (r *Reconciler) finalize(ctx context.Context, obj *helmv2.HelmRelease) error {
	// Only what this object released is uninstalled (nothing when it never
	// made a release: a HelmRelease whose installs were all refused must
	// not be kept from going away).
	if l := obj.Status.History.Latest(); !obj.Spec.Suspend && obj.Status.StorageNamespace != "" && l != nil {
		if err := r.uninstall(ctx, obj, obj.Status.StorageNamespace, l.Name, l.Namespace); err != nil {
			return err
		}
	}
	if obj.Spec.Chart != nil || obj.Status.HelmChart != "" {
		r.deleteTemplateChart(ctx, obj)
	}
	return lifecycle.RemoveFinalizer(ctx, r.Client, obj, helmv2.HelmReleaseFinalizer)
}

// uninstall removes release name from storageNS (its objects in ns).
func (r *Reconciler) uninstall(ctx context.Context, obj *helmv2.HelmRelease, storageNS, name, ns string) error {
	tgt, err := r.target(ctx, obj)
	if err != nil {
		log.FromContext(ctx).Info("cannot reach the release's cluster; leaving the release", "error", err.Error())
		return nil
	}
	releases := &helm.Releases{Cluster: tgt.cluster, StorageNamespace: storageNS}
	last, err := releases.Last(name)
	if err != nil {
		return err
	}
	if last == nil || last.Info.Status == helm.StatusUninstalled {
		log.FromContext(ctx).V(1).Info(fmt.Sprintf("Release %s/%s was not found, assuming it is uninstalled", storageNS, name))
		return nil
	}
	spec := obj.GetUninstall()
	snap := snapshotOf(last, "")
	if err := releases.Uninstall(name, ns, uninstallOptions(spec, spec.GetTimeout(obj.GetTimeout()).Duration)); err != nil {
		msg := fmt.Sprintf("Helm uninstall failed for release %s with chart %s: %s", fullName(snap), chartName(snap), trimErr(err, r.secretsOf(client.ObjectKeyFromObject(obj))))
		r.event(obj, corev1.EventTypeWarning, helmv2.UninstallFailedReason, msg)
		return fmt.Errorf("%s", msg)
	}
	r.event(obj, corev1.EventTypeNormal, helmv2.UninstallSucceededReason,
		fmt.Sprintf("Helm uninstall succeeded for release %s with chart %s", fullName(snap), chartName(snap)))
	return nil
}

// uninstallStaleTarget uninstalls the release made under an older release
// name, namespace or storage namespace (the spec changed them), so that
// the new one starts afresh. It reports whether it did; on failure nothing
// is forgotten, so the old release is never orphaned.
func (r *Reconciler) uninstallStaleTarget(ctx context.Context, req *request) (bool, error) {
	obj := req.obj
	latest := obj.Status.History.Latest()
	if latest == nil || obj.Status.StorageNamespace == "" {
		return false, nil
	}
	if latest.Name == req.name && latest.Namespace == req.ns && obj.Status.StorageNamespace == obj.GetStorageNamespace() {
		return false, nil
	}
	releases := &helm.Releases{Cluster: req.target.cluster, StorageNamespace: obj.Status.StorageNamespace}
	if err := releases.Uninstall(latest.Name, latest.Namespace, uninstallOptions(obj.GetUninstall(), obj.GetTimeout().Duration)); err != nil {
		return false, fmt.Errorf("uninstall release %s/%s made before the release name or namespace changed: %w", latest.Namespace, latest.Name, err)
	}
	log.FromContext(ctx).Info("uninstalled the release of the previous name or namespace", "release", latest.Namespace+"/"+latest.Name)
	obj.Status.History = nil
	obj.Status.ClearFailures()
	obj.Status.StorageNamespace = ""
	return true, nil
}

package helmrelease

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/helm"
)

// finalize uninstalls the release (unless suspended, or never made),
// deletes the HelmChart made for it and lets the object go.
func (r *Reconciler) finalize(ctx context.Context, obj *helmv2.HelmRelease) error {
	if !obj.Spec.Suspend && obj.Status.StorageNamespace != "" {
		if err := r.uninstall(ctx, obj, obj.Status.StorageNamespace, obj.GetReleaseNamespace()); err != nil {
			return err
		}
	}
	if obj.Spec.Chart != nil || obj.Status.HelmChart != "" {
		r.deleteTemplateChart(ctx, obj)
	}
	return lifecycle.RemoveFinalizer(ctx, r.Client, obj, helmv2.HelmReleaseFinalizer)
}

// uninstall removes the release from storageNS (its objects in ns).
func (r *Reconciler) uninstall(ctx context.Context, obj *helmv2.HelmRelease, storageNS, ns string) error {
	tgt, err := r.target(ctx, obj)
	if err != nil {
		log.FromContext(ctx).Info("cannot reach the release's cluster; leaving the release", "error", err.Error())
		return nil
	}
	name := releaseName(obj)
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
		msg := fmt.Sprintf("Helm uninstall failed for release %s with chart %s: %s", fullName(snap), chartName(snap), trimErr(err))
		r.event(obj, corev1.EventTypeWarning, helmv2.UninstallFailedReason, msg)
		return fmt.Errorf("%s", msg)
	}
	r.event(obj, corev1.EventTypeNormal, helmv2.UninstallSucceededReason,
		fmt.Sprintf("Helm uninstall succeeded for release %s with chart %s", fullName(snap), chartName(snap)))
	return nil
}

// uninstallStaleTarget uninstalls the release made under an older release
// name or storage namespace (the spec changed them), so that the new one
// starts afresh. It reports whether it did.
func (r *Reconciler) uninstallStaleTarget(ctx context.Context, req *request) bool {
	obj := req.obj
	latest := obj.Status.History.Latest()
	if latest == nil || obj.Status.StorageNamespace == "" {
		return false
	}
	if latest.Name == req.name && latest.Namespace == req.ns && obj.Status.StorageNamespace == obj.GetStorageNamespace() {
		return false
	}
	releases := &helm.Releases{Cluster: req.target.cluster, StorageNamespace: obj.Status.StorageNamespace}
	if err := releases.Uninstall(latest.Name, latest.Namespace, uninstallOptions(obj.GetUninstall(), obj.GetTimeout().Duration)); err != nil {
		log.FromContext(ctx).Info("uninstall of the previous release failed", "error", err.Error())
	}
	obj.Status.History = nil
	obj.Status.ClearFailures()
	obj.Status.StorageNamespace = ""
	return true
}

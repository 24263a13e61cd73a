package helmrelease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// Reasons the release loop reports besides the API's.
const (
	sourceNotReadyReason  = "SourceNotReady"
	valuesErrorReason     = "ValuesError"
	retriesExceededReason = "RetriesExceeded"
	missingRollbackReason = "MissingRollbackTarget"
	pendingReleaseReason  = "PendingRelease"
	awaitingTestsReason   = "AwaitingTests"
	stateErrorReason      = "StateError"
)

// reconcile runs the prerequisites and then the release loop.
func (r *Reconciler) reconcile(ctx context.Context, obj, before *helmv2.HelmRelease) (ctrl.Result, error) {
	lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "Fulfilling prerequisites")
	}

	if err := r.checkDependencies(ctx, obj); err != nil {
		conditions.MarkFailed(obj, false, helmv2.DependencyNotReadyReason, "%s", err.Error())
		r.event(obj, corev1.EventTypeNormal, helmv2.DependencyNotReadyReason, err.Error())
		return ctrl.Result{RequeueAfter: r.dependencyRequeue()}, nil
	}
	src, err := r.chartSource(ctx, obj)
	if err != nil {
		var nr *notReady
		if errors.As(err, &nr) {
			conditions.MarkFailed(obj, false, sourceNotReadyReason, "%s", err.Error())
			log.FromContext(ctx).V(1).Info("chart not ready", "reason", err.Error())
			return ctrl.Result{RequeueAfter: obj.GetRequeueAfter()}, nil
		}
		if tenancy.IsAccessDenied(err) {
			return r.failed(ctx, obj, tenancy.AccessDeniedReason, err, true)
		}
		return r.failed(ctx, obj, helmv2.ArtifactFailedReason, err, false)
	}
	ch, ociDigest, err := r.loadChart(src)
	if err != nil {
		return r.failed(ctx, obj, helmv2.ArtifactFailedReason, fmt.Errorf("Could not load chart: %w", err), false)
	}
	values, secrets, err := r.values(ctx, obj)
	r.setSecrets(obj, secrets)
	if err != nil {
		return r.failed(ctx, obj, valuesErrorReason, err, false)
	}
	tgt, err := r.target(ctx, obj)
	if err != nil {
		return r.failed(ctx, obj, helmv2.InitFailedReason, err, false)
	}

	logs := &logBuffer{secrets: secrets}
	req := &request{
		obj:            obj,
		chart:          ch,
		values:         values,
		digest:         configDigest(values),
		revision:       ch.Metadata.Version,
		ociDigest:      ociDigest,
		postRenderers:  specDigest(obj.Spec.PostRenderers),
		commonMetadata: specDigest(obj.Spec.CommonMetadata),
		secrets:        secrets,
		target:         tgt,
		name:           releaseName(obj),
		ns:             obj.GetReleaseNamespace(),
		releases:       &helm.Releases{Cluster: tgt.cluster, StorageNamespace: obj.GetStorageNamespace(), MaxHistory: obj.GetMaxHistory(), Log: logs, Observer: tgt.observer()},
		logs:           logs,
		save:           func() error { return r.patchStatus(ctx, before, obj) },
	}
	if done, err := r.uninstallStaleTarget(ctx, req); err != nil {
		return r.failed(ctx, obj, helmv2.UninstallFailedReason, err, false)
	} else if done {
		return ctrl.Result{Requeue: true}, nil
	}
	// forceAt and resetAt are taken only now that the release can act on
	// them: a request made while a prerequisite fails is not lost.
	force := handleAnnotation(obj, meta.ForceRequestAnnotation, &obj.Status.LastHandledForceAt)
	reset := handleAnnotation(obj, helmv2.ResetRequestAnnotation, &obj.Status.LastHandledResetAt)
	req.force = force
	obj.Status.StorageNamespace = obj.GetStorageNamespace()
	if reset || mustResetFailures(obj, req) {
		obj.Status.ClearFailures()
	}
	obj.Status.LastAttemptedGeneration = obj.Generation
	obj.Status.LastAttemptedRevision = req.revision
	obj.Status.LastAttemptedRevisionDigest = req.ociDigest
	obj.Status.LastAttemptedConfigDigest = req.digest
	obj.Status.LastAttemptedValuesChecksum = ""

	err = r.releaseLoop(ctx, req)
	switch {
	case errors.Is(err, errRequeue):
		return ctrl.Result{Requeue: true}, nil
	case errors.Is(err, errStalled):
		return ctrl.Result{}, nil
	case err != nil:
		log.FromContext(ctx).Info("release failed", "error", err.Error())
		return ctrl.Result{RequeueAfter: min(max(obj.GetRequeueAfter()/5, 2*time.Second), obj.GetRequeueAfter())}, nil
	}
	return ctrl.Result{RequeueAfter: obj.GetRequeueAfter()}, nil
}

func (r *Reconciler) dependencyRequeue() time.Duration {
	if r.DependencyRequeue > 0 {
		return r.DependencyRequeue
	}
	return 30 * time.Second
}

// handleAnnotation reports whether a request annotation (forceAt,
// resetAt) holds a value not handled yet, and records it as handled.
func handleAnnotation(obj *helmv2.HelmRelease, key string, handled *string) bool {
	v, ok := obj.GetAnnotations()[key]
	if !ok || v == *handled {
		return false
	}
	*handled = v
	return true
}

// mustResetFailures reports whether the inputs changed since the last
// attempt, which gives the release a fresh set of retries.
func mustResetFailures(obj *helmv2.HelmRelease, req *request) bool {
	s := obj.Status
	return s.LastAttemptedGeneration != obj.Generation ||
		s.LastAttemptedRevision != req.revision ||
		(s.LastAttemptedConfigDigest != "" && s.LastAttemptedConfigDigest != req.digest)
}

// specDigest is "sha256:<hex>" of v as JSON, or "" when v is empty, so
// that a spec without post-renderers or common metadata needs no digest.
func specDigest(v any) string {
	data, err := json.Marshal(v)
	if err != nil || string(data) == "null" || string(data) == "[]" || string(data) == "{}" {
		return ""
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

package helmrelease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/redact"
)

// request is everything one pass of the release loop works with.
type request struct {
	obj      *helmv2.HelmRelease
	chart    *helm.Chart
	values   map[string]any
	digest   string // config digest of values
	revision string // chart version
	// ociDigest is the artifact digest of a chart from an OCIRepository,
	// recorded in status and history; "" for other sources.
	ociDigest string
	// postRenderers and commonMetadata are digests of those parts of the
	// spec; a change upgrades the release.
	postRenderers, commonMetadata string
	force                         bool
	target                        *target
	name, ns                      string // release name and namespace
	releases                      *helm.Releases
	save                          func() error // writes status now (before a long action)
	ctx                           context.Context
	logs                          *logBuffer     // Helm's last log lines, for warning events
	secrets                       *redact.Values // values from Secrets, masked in messages
	drift                         *drift         // the last comparison, for drift correction
}

var (
	// errStalled ends a reconcile that cannot succeed until something
	// changes (retries exhausted, no rollback target).
	errStalled = errors.New("stalled")
	// errActionFailed ends a reconcile whose action failed without a
	// release being written; it is retried after a backoff.
	errActionFailed = errors.New("action failed")
)

// state is what the release in storage says, compared with the spec.
type state int

const (
	stateAbsent state = iota
	stateLocked
	stateUnmanaged
	stateOutOfSync
	stateUntested
	stateFailed
	stateDrifted
	stateInSync
)

// releaseLoop looks at the release and takes one action at a time until
// it is in sync, an action fails, or a remediation asks for a later
// attempt. Each kind of action runs at most once per reconcile.
func (r *Reconciler) releaseLoop(ctx context.Context, req *request) error {
	obj := req.obj
	ran := map[string]bool{}
	once := func(action string) bool {
		if ran[action] {
			return false
		}
		ran[action] = true
		return true
	}
	// act runs an action unless it ran already in this reconcile, which
	// would mean the loop is going round in circles: it stops instead.
	act := func(action string, run func() error) error {
		if !once(action) {
			return r.stop(obj, errActionFailed)
		}
		return run()
	}
	for range 10 {
		last, err := req.releases.Last(req.name)
		if err != nil {
			conditions.MarkFailed(obj, false, helmv2.GetLastReleaseFailedReason, "%s", err.Error())
			return err
		}
		st, why, err := r.state(ctx, req, last)
		if err != nil {
			conditions.MarkFailed(obj, false, stateErrorReason, "Could not determine release state: %s", err.Error())
			return err
		}
		log.FromContext(ctx).V(1).Info("release state", "state", st, "reason", why)
		switch st {
		case stateInSync:
			truncateHistory(obj)
			obj.Status.Inventory = inventoryOf(last, req.target.client.RESTMapper())
			if l := obj.Status.History.Latest(); l != nil {
				obj.Status.LastAppliedRevision = l.ChartVersion
			}
			if req.force && once("upgrade") {
				if err := r.upgrade(ctx, req, last); err != nil {
					return err
				}
				continue
			}
			replaceRemediated(obj)
			summarize(obj)
			return nil
		case stateLocked:
			if err := act("unlock", func() error { return r.unlock(req, last) }); err != nil {
				return err
			}
		case stateUnmanaged:
			obj.Status.History = nil
			if err := act("upgrade", func() error { return r.upgrade(ctx, req, last) }); err != nil {
				return err
			}
		case stateAbsent:
			rem := remediationOf(obj, helmv2.ReleaseActionInstall)
			if rem.exhausted(obj) && !req.force {
				return r.stall(obj, "cannot install release")
			}
			if err := act("install", func() error { return r.install(ctx, req, last) }); err != nil {
				return err
			}
		case stateOutOfSync:
			rem := remediationOf(obj, helmv2.ReleaseActionUpgrade)
			if rem.exhausted(obj) && !req.force {
				return r.stall(obj, "cannot upgrade release")
			}
			if err := act("upgrade", func() error { return r.upgrade(ctx, req, last) }); err != nil {
				return err
			}
		case stateUntested:
			err := act("test", func() error {
				replaceRemediated(obj)
				r.test(req, last)
				return nil
			})
			if err != nil {
				return err
			}
		case stateDrifted:
			if !once("drift") {
				summarize(obj)
				return nil
			}
			if err := r.correctDrift(ctx, req, last); err != nil {
				return err
			}
			if obj.GetDriftDetection().GetMode() != helmv2.DriftDetectionEnabled {
				summarize(obj)
				return nil
			}
		case stateFailed:
			done, err := r.remediate(ctx, req, last, once)
			if err != nil || done {
				return err
			}
		}
	}
	return r.stop(obj, errActionFailed)
}

// stop summarises the conditions and ends the loop with err.
func (r *Reconciler) stop(obj *helmv2.HelmRelease, err error) error {
	summarize(obj)
	return err
}

// stall marks the release Stalled because its retries are exhausted.
func (r *Reconciler) stall(obj *helmv2.HelmRelease, what string) error {
	summarize(obj)
	rem := remediationOf(obj, obj.Status.LastAttemptedReleaseAction)
	conditions.Set(obj, meta.StalledCondition, metav1.ConditionTrue, retriesExceededReason,
		"Failed to %s after %d attempt(s)", obj.Status.LastAttemptedReleaseAction, rem.failures(obj))
	conditions.Delete(obj, meta.ReconcilingCondition)
	// Ready tells why the last attempt failed (the Helm error), even when a
	// remediation came after an earlier attempt.
	if c := conditions.Get(obj, helmv2.ReleasedCondition); c != nil && c.Status == metav1.ConditionFalse {
		conditions.Set(obj, meta.ReadyCondition, metav1.ConditionFalse, c.Reason, "%s", c.Message)
	} else if c := conditions.Get(obj, meta.ReadyCondition); c == nil || c.Status != metav1.ConditionFalse {
		conditions.Set(obj, meta.ReadyCondition, metav1.ConditionFalse, retriesExceededReason, "exceeded maximum retries: %s", what)
	}
	return errStalled
}

// state compares the release in storage with the spec.
func (r *Reconciler) state(ctx context.Context, req *request, last *helm.Release) (state, string, error) {
	obj := req.obj
	switch {
	case last == nil:
		return stateAbsent, "no release in storage for object", nil
	case helm.IsPending(last):
		return stateLocked, fmt.Sprintf("release with status '%s'", last.Info.Status), nil
	case len(obj.Status.History) == 0:
		if last.Info.Status == helm.StatusUninstalled {
			return stateAbsent, "found uninstalled release in storage", nil
		}
		return stateUnmanaged, "found existing release in storage", nil
	}
	latest := obj.Status.History.Latest()
	if latest.Version != last.Version || latest.Digest != releaseDigest(last) {
		if latest.Version == last.Version && latest.Status == string(helm.StatusUninstalled) {
			return stateAbsent, "release was uninstalled", nil
		}
		return stateUnmanaged, "release not observed to be made for object", nil
	}
	switch last.Info.Status {
	case helm.StatusFailed:
		return stateFailed, "release is in a failed state", nil
	case helm.StatusUninstalled:
		return stateAbsent, "found uninstalled release in storage", nil
	case helm.StatusDeployed:
	default:
		return stateUnmanaged, fmt.Sprintf("release with status '%s'", last.Info.Status), nil
	}
	if last.Chart == nil || last.Chart.Name() != req.chart.Name() || last.Chart.Metadata.Version != req.chart.Metadata.Version {
		return stateOutOfSync, "release chart changed", nil
	}
	if configDigest(last.Config) != req.digest {
		return stateOutOfSync, "release config values changed", nil
	}
	if obj.Status.ObservedPostRenderersDigest != req.postRenderers || obj.Status.ObservedCommonMetadataDigest != req.commonMetadata {
		return stateOutOfSync, "post-renderers or common metadata changed", nil
	}
	test := obj.GetTest()
	if test.Enable && latest.TestHooks == nil {
		return stateUntested, "release has not been tested", nil
	}
	rem := remediationOf(obj, obj.Status.LastAttemptedReleaseAction)
	if rem.action != "" && !rem.ignoreTestFailures(obj) && testFailed(latest) {
		return stateFailed, "release has test in failed phase", nil
	}
	if obj.GetDriftDetection().GetMode() == helmv2.DriftDetectionDisabled {
		conditions.Delete(obj, helmv2.DriftedCondition)
	} else {
		drifted, err := r.detectDrift(ctx, req, last)
		if err != nil {
			return 0, "", err
		}
		if drifted {
			return stateDrifted, "cluster state has drifted", nil
		}
	}
	return stateInSync, "release in sync with desired state", nil
}

// progress records that an action starts and writes status, so the
// start of a long action is visible.
func (r *Reconciler) progress(req *request, action string, timeout time.Duration) {
	msg := fmt.Sprintf("Running '%s' action with timeout of %s", action, timeout)
	conditions.Delete(req.obj, meta.StalledCondition)
	conditions.Set(req.obj, meta.ReconcilingCondition, metav1.ConditionTrue, meta.ProgressingReason, "%s", msg)
	if action == "install" || action == "upgrade" {
		conditions.Set(req.obj, meta.ReadyCondition, metav1.ConditionUnknown, meta.ProgressingReason, "%s", msg)
	}
	if err := req.save(); err != nil {
		log.FromContext(req.ctx).V(1).Info("status write before action failed", "error", err.Error())
	}
}

// recordAttempt notes the action and how long it took.
func recordAttempt(obj *helmv2.HelmRelease, action helmv2.ReleaseAction, start time.Time) {
	obj.Status.LastAttemptedReleaseAction = action
	obj.Status.LastAttemptedReleaseActionDuration = &metav1.Duration{Duration: time.Since(start).Round(time.Millisecond)}
}

// install installs the release.
func (r *Reconciler) install(ctx context.Context, req *request, last *helm.Release) error {
	obj := req.obj
	spec := obj.GetInstall()
	timeout := spec.GetTimeout(obj.GetTimeout()).Duration
	r.progress(req, "install", timeout)
	if err := r.crds(ctx, req, crdPolicy(spec.CRDs, spec.SkipCRDs)); err != nil {
		return r.actionFailed(req, last, helmv2.ReleaseActionInstall, helmv2.InstallFailedReason,
			fmt.Sprintf("Helm install failed for release %s/%s with chart %s@%s: %s", req.ns, req.name, req.chart.Name(), req.chart.Metadata.Version, trimErr(err, req.secrets)))
	}
	opts := helm.InstallOptions{
		ActionOptions: r.actionOptions(ctx, req, timeout, actionSpec{spec.DisableWait, spec.DisableWaitForJobs, spec.DisableHooks,
			spec.DisableOpenAPIValidation, spec.DisableSchemaValidation, spec.DisableTakeOwnership}),
		Replace:         spec.Replace,
		CreateNamespace: spec.CreateNamespace,
		ServerSideApply: spec.ServerSideApply == nil || *spec.ServerSideApply,
	}
	start := time.Now()
	rel, err := req.releases.Install(ctx, req.name, req.chart, req.values, opts)
	recordAttempt(obj, helmv2.ReleaseActionInstall, start)
	invalidateForCRDs(req)
	if err != nil {
		return r.actionFailed(req, last, helmv2.ReleaseActionInstall, helmv2.InstallFailedReason,
			fmt.Sprintf("Helm install failed for release %s/%s with chart %s@%s: %s", req.ns, req.name, req.chart.Name(), req.chart.Metadata.Version, trimErr(err, req.secrets)))
	}
	obj.Status.History = helmv2.Snapshots{snapshotOf(stored(req, rel), helmv2.ReleaseActionInstall)}
	obj.Status.History[0].OCIDigest = req.ociDigest
	r.succeeded(req, helmv2.InstallSucceededReason, fmt.Sprintf("Helm install succeeded for release %s with chart %s",
		fullName(obj.Status.History[0]), chartName(obj.Status.History[0])))
	return nil
}

// upgrade upgrades the release (or makes it when storage has none that
// this object made).
func (r *Reconciler) upgrade(ctx context.Context, req *request, last *helm.Release) error {
	obj := req.obj
	spec := obj.GetUpgrade()
	timeout := spec.GetTimeout(obj.GetTimeout()).Duration
	r.progress(req, "upgrade", timeout)
	if err := r.crds(ctx, req, crdPolicy(spec.CRDs, false)); err != nil {
		return r.actionFailed(req, last, helmv2.ReleaseActionUpgrade, helmv2.UpgradeFailedReason,
			fmt.Sprintf("Helm upgrade failed for release %s/%s with chart %s@%s: %s", req.ns, req.name, req.chart.Name(), req.chart.Metadata.Version, trimErr(err, req.secrets)))
	}
	opts := helm.UpgradeOptions{
		ActionOptions: r.actionOptions(ctx, req, timeout, actionSpec{spec.DisableWait, spec.DisableWaitForJobs, spec.DisableHooks,
			spec.DisableOpenAPIValidation, spec.DisableSchemaValidation, spec.DisableTakeOwnership}),
		Force:           spec.Force,
		CleanupOnFail:   spec.CleanupOnFail,
		ServerSideApply: ssaMode(spec.ServerSideApply),
	}
	start := time.Now()
	rel, err := req.releases.Upgrade(ctx, req.name, req.chart, req.values, opts)
	recordAttempt(obj, helmv2.ReleaseActionUpgrade, start)
	invalidateForCRDs(req)
	if err != nil {
		return r.actionFailed(req, last, helmv2.ReleaseActionUpgrade, helmv2.UpgradeFailedReason,
			fmt.Sprintf("Helm upgrade failed for release %s/%s with chart %s@%s: %s", req.ns, req.name, req.chart.Name(), req.chart.Metadata.Version, trimErr(err, req.secrets)))
	}
	snap := snapshotOf(stored(req, rel), helmv2.ReleaseActionUpgrade)
	snap.OCIDigest = req.ociDigest
	markSuperseded(obj)
	obj.Status.History = append(helmv2.Snapshots{snap}, obj.Status.History...)
	r.succeeded(req, helmv2.UpgradeSucceededReason, fmt.Sprintf("Helm upgrade succeeded for release %s with chart %s", fullName(snap), chartName(snap)))
	return nil
}

// stored returns the record of rel as Helm stored it (what the next
// reconcile will read and compare), falling back to rel.
func stored(req *request, rel *helm.Release) *helm.Release {
	if last, err := req.releases.Last(req.name); err == nil && last != nil && last.Version == rel.Version {
		return last
	}
	return rel
}

// actionSpec is what spec.install and spec.upgrade share.
type actionSpec struct {
	disableWait, disableWaitForJobs, disableHooks     bool
	disableOpenAPIValidation, disableSchemaValidation bool
	disableTakeOwnership                              bool
}

// actionOptions are the settings an install or upgrade shares. CRDs are
// applied by policy before the action (r.crds), so Helm skips them.
func (r *Reconciler) actionOptions(ctx context.Context, req *request, timeout time.Duration, a actionSpec) helm.ActionOptions {
	return helm.ActionOptions{
		Namespace:                req.ns,
		Timeout:                  timeout,
		Wait:                     wait(req.obj, !a.disableWait, !a.disableWaitForJobs),
		DisableHooks:             a.disableHooks,
		DisableOpenAPIValidation: a.disableOpenAPIValidation,
		DisableSchemaValidation:  a.disableSchemaValidation,
		SkipCRDs:                 true,
		TakeOwnership:            !a.disableTakeOwnership,
		PostRenderer:             r.postRenderer(ctx, req.obj),
		PostRenderStrategy:       string(req.obj.Spec.PostRenderStrategy),
	}
}

// succeeded records a successful install or upgrade.
func (r *Reconciler) succeeded(req *request, reason, msg string) {
	obj := req.obj
	obj.Status.ObservedPostRenderersDigest = req.postRenderers
	obj.Status.ObservedCommonMetadataDigest = req.commonMetadata
	conditions.Set(obj, helmv2.ReleasedCondition, metav1.ConditionTrue, reason, "%s", msg)
	conditions.Delete(obj, helmv2.RemediatedCondition)
	if obj.GetTest().Enable {
		snap := obj.Status.History.Latest()
		conditions.Set(obj, helmv2.TestSuccessCondition, metav1.ConditionUnknown, awaitingTestsReason,
			"Helm release %s with chart %s is awaiting tests", fullName(snap), chartName(snap))
	}
	r.event(obj, corev1.EventTypeNormal, reason, msg)
}

// actionFailed records a failed install or upgrade. When the action wrote
// a release (failed in storage) it counts against the remediation's
// retries and the loop goes on to remediate; when it wrote nothing the
// reconcile ends and is retried after a backoff.
func (r *Reconciler) actionFailed(req *request, before *helm.Release, action helmv2.ReleaseAction, reason, msg string) error {
	obj := req.obj
	obj.Status.Failures++
	conditions.Set(obj, helmv2.ReleasedCondition, metav1.ConditionFalse, reason, "%s", msg)
	r.event(obj, corev1.EventTypeWarning, reason, req.logs.withLogs(msg))
	now, err := req.releases.Last(req.name)
	wrote := err == nil && now != nil && (before == nil || now.Version > before.Version)
	if !wrote {
		summarize(obj)
		return errActionFailed
	}
	switch action {
	case helmv2.ReleaseActionInstall:
		obj.Status.InstallFailures++
		obj.Status.History = helmv2.Snapshots{snapshotOf(now, action)}
	default:
		obj.Status.UpgradeFailures++
		obj.Status.History = append(helmv2.Snapshots{snapshotOf(now, action)}, obj.Status.History...)
	}
	return nil
}

// unlock marks a release left pending as failed.
func (r *Reconciler) unlock(req *request, last *helm.Release) error {
	obj := req.obj
	status := last.Info.Status
	snap := snapshotOf(last, "")
	if err := req.releases.Unlock(last); err != nil {
		obj.Status.Failures++
		msg := fmt.Sprintf("Unlock of Helm release %s with chart %s in %s state failed: %s", fullName(snap), chartName(snap), status, trimErr(err, req.secrets))
		conditions.Set(obj, helmv2.ReleasedCondition, metav1.ConditionFalse, pendingReleaseReason, "%s", msg)
		r.event(obj, corev1.EventTypeWarning, pendingReleaseReason, req.logs.withLogs(msg))
		return r.stop(obj, errActionFailed)
	}
	msg := fmt.Sprintf("Unlocked Helm release %s with chart %s in %s state", fullName(snap), chartName(snap), status)
	conditions.Set(obj, helmv2.ReleasedCondition, metav1.ConditionFalse, pendingReleaseReason, "%s", msg)
	r.event(obj, corev1.EventTypeNormal, pendingReleaseReason, msg)
	if l := obj.Status.History.Latest(); l != nil && l.Version == last.Version {
		*l = *snapshotOf(last, l.Action)
	}
	return nil
}

// test runs the release's tests and records them on the newest snapshot.
func (r *Reconciler) test(req *request, last *helm.Release) {
	obj := req.obj
	spec := obj.GetTest()
	timeout := spec.GetTimeout(obj.GetTimeout()).Duration
	r.progress(req, "test", timeout)
	rel, err := req.releases.Test(req.name, req.ns, timeout, testFilters(spec.Filters))
	if rel == nil {
		rel = last
	}
	snap := obj.Status.History.Latest()
	hooks := testHooks(rel)
	if snap != nil {
		snap.TestHooks = &hooks
	}
	if err != nil {
		obj.Status.Failures++
		msg := fmt.Sprintf("Helm test failed for release %s with chart %s: %s", fullName(snap), chartName(snap), trimErr(err, req.secrets))
		conditions.Set(obj, helmv2.TestSuccessCondition, metav1.ConditionFalse, helmv2.TestFailedReason, "%s", msg)
		r.event(obj, corev1.EventTypeWarning, helmv2.TestFailedReason, req.logs.withLogs(msg))
		rem := remediationOf(obj, obj.Status.LastAttemptedReleaseAction)
		if !rem.ignoreTestFailures(obj) {
			rem.countFailure(obj)
		}
		return
	}
	n := len(hooks)
	done := "no test hooks"
	switch {
	case n == 1:
		done = "1 test hook completed successfully"
	case n > 1:
		done = fmt.Sprintf("%d test hooks completed successfully", n)
	}
	msg := fmt.Sprintf("Helm test succeeded for release %s with chart %s: %s", fullName(snap), chartName(snap), done)
	conditions.Set(obj, helmv2.TestSuccessCondition, metav1.ConditionTrue, helmv2.TestSucceededReason, "%s", msg)
	r.event(obj, corev1.EventTypeNormal, helmv2.TestSucceededReason, msg)
}

// remediate handles a failed release: a new attempt when the inputs
// changed, else a rollback or uninstall when retries remain (or the last
// failure must be remediated). done means the reconcile ends here.
func (r *Reconciler) remediate(ctx context.Context, req *request, last *helm.Release, once func(string) bool) (bool, error) {
	obj := req.obj
	rem := remediationOf(obj, obj.Status.LastAttemptedReleaseAction)
	if rem.action == "" || rem.failures(obj) <= 0 || req.force {
		if !once("upgrade") {
			return true, r.stop(obj, errActionFailed)
		}
		return false, r.upgrade(ctx, req, last)
	}
	exhausted := rem.exhausted(obj)
	if exhausted && !rem.remediateLastFailure(obj) {
		return true, r.stall(obj, "cannot remediate failed release")
	}
	truncateHistory(obj)
	var err error
	if rem.strategy(obj) == helmv2.RollbackRemediationStrategy {
		err = r.rollback(req, last)
	} else {
		err = r.uninstallRemediation(req, last)
	}
	if err != nil {
		return true, err
	}
	summarize(obj)
	if exhausted {
		return true, r.stall(obj, "cannot remediate failed release")
	}
	conditions.Set(obj, meta.ReconcilingCondition, metav1.ConditionTrue, meta.ProgressingWithRetryReason, "%s",
		conditions.Get(obj, meta.ReadyCondition).Message)
	return true, errRequeue
}

// rollback rolls the release back to the previous successful one.
func (r *Reconciler) rollback(req *request, last *helm.Release) error {
	obj := req.obj
	var prev *helmv2.Snapshot
	for _, s := range obj.Status.History {
		if s.Version < last.Version && (s.Status == string(helm.StatusDeployed) || s.Status == string(helm.StatusSuperseded)) {
			prev = s
			break
		}
	}
	if prev == nil {
		summarize(obj)
		conditions.Set(obj, meta.StalledCondition, metav1.ConditionTrue, missingRollbackReason,
			"Failed to perform remediation: missing target release for rollback")
		conditions.Delete(obj, meta.ReconcilingCondition)
		return errStalled
	}
	if !inStorage(req, prev.Version) {
		prev = nil
	}
	if prev == nil {
		summarize(obj)
		conditions.Set(obj, meta.StalledCondition, metav1.ConditionTrue, missingRollbackReason,
			"Failed to perform remediation: missing target release for rollback")
		conditions.Delete(obj, meta.ReconcilingCondition)
		return errStalled
	}
	spec := obj.GetRollback()
	timeout := spec.GetTimeout(obj.GetTimeout()).Duration
	r.progress(req, "rollback", timeout)
	err := req.releases.Rollback(req.name, req.ns, helm.RollbackOptions{
		Version:         prev.Version,
		Timeout:         timeout,
		Wait:            wait(obj, !spec.DisableWait, !spec.DisableWaitForJobs),
		DisableHooks:    spec.DisableHooks,
		Force:           spec.Force,
		CleanupOnFail:   spec.CleanupOnFail,
		ServerSideApply: ssaMode(spec.ServerSideApply),
	})
	if now, lerr := req.releases.Last(req.name); lerr == nil && now != nil && now.Version > last.Version {
		markSuperseded(obj)
		obj.Status.History = append(helmv2.Snapshots{snapshotOf(now, "")}, obj.Status.History...)
	}
	if err != nil {
		obj.Status.Failures++
		msg := fmt.Sprintf("Helm rollback to previous release %s with chart %s failed: %s", fullName(prev), chartName(prev), trimErr(err, req.secrets))
		conditions.Set(obj, helmv2.RemediatedCondition, metav1.ConditionFalse, helmv2.RollbackFailedReason, "%s", msg)
		r.event(obj, corev1.EventTypeWarning, helmv2.RollbackFailedReason, req.logs.withLogs(msg))
		return r.stop(obj, errActionFailed)
	}
	msg := fmt.Sprintf("Helm rollback to previous release %s with chart %s succeeded", fullName(prev), chartName(prev))
	conditions.Set(obj, helmv2.RemediatedCondition, metav1.ConditionTrue, helmv2.RollbackSucceededReason, "%s", msg)
	r.event(obj, corev1.EventTypeNormal, helmv2.RollbackSucceededReason, msg)
	return nil
}

// inStorage reports whether Helm's storage still holds revision version
// of the release (maxHistory may have pruned it).
func inStorage(req *request, version int) bool {
	h, err := req.releases.History(req.name)
	if err != nil {
		return true // let the rollback report the storage error
	}
	for _, rel := range h {
		if rel.Version == version {
			return true
		}
	}
	return false
}

// uninstallRemediation removes a failed release so that the next attempt
// installs afresh.
func (r *Reconciler) uninstallRemediation(req *request, last *helm.Release) error {
	obj := req.obj
	spec := obj.GetUninstall()
	timeout := spec.GetTimeout(obj.GetTimeout()).Duration
	r.progress(req, "uninstall", timeout)
	snap := obj.Status.History.Latest()
	if snap == nil || snap.Version != last.Version {
		snap = snapshotOf(last, "")
	}
	err := req.releases.Uninstall(req.name, req.ns, uninstallOptions(spec, timeout))
	if err != nil {
		obj.Status.Failures++
		msg := fmt.Sprintf("Helm uninstall remediation for release %s with chart %s failed: %s", fullName(snap), chartName(snap), trimErr(err, req.secrets))
		conditions.Set(obj, helmv2.RemediatedCondition, metav1.ConditionFalse, helmv2.UninstallFailedReason, "%s", msg)
		r.event(obj, corev1.EventTypeWarning, helmv2.UninstallFailedReason, req.logs.withLogs(msg))
		return r.stop(obj, errActionFailed)
	}
	snap.Status = string(helm.StatusUninstalled)
	snap.Deleted = metav1.Now()
	msg := fmt.Sprintf("Helm uninstall remediation for release %s with chart %s succeeded", fullName(snap), chartName(snap))
	conditions.Set(obj, helmv2.RemediatedCondition, metav1.ConditionTrue, helmv2.UninstallSucceededReason, "%s", msg)
	r.event(obj, corev1.EventTypeNormal, helmv2.UninstallSucceededReason, msg)
	return nil
}

func uninstallOptions(spec helmv2.Uninstall, timeout time.Duration) helm.UninstallOptions {
	return helm.UninstallOptions{
		Timeout:             timeout,
		Wait:                helm.Wait{Enabled: !spec.DisableWait},
		DisableHooks:        spec.DisableHooks,
		KeepHistory:         spec.KeepHistory,
		DeletionPropagation: spec.GetDeletionPropagation(),
	}
}

// crds applies the chart's CRDs by policy and makes discovery learn them.
func (r *Reconciler) crds(ctx context.Context, req *request, policy helmv2.CRDsPolicy) error {
	wrote, err := applyCRDs(ctx, req, policy)
	if wrote {
		req.target.cluster.Invalidate()
		if mapper, ok := req.target.client.RESTMapper().(interface{ Reset() }); ok {
			mapper.Reset()
		}
	}
	return err
}

// wait says how an action waits: spec.waitStrategy "legacy" polls each
// object; the default watches (Helm 4's status watcher).
func wait(obj *helmv2.HelmRelease, enabled, forJobs bool) helm.Wait {
	legacy := obj.Spec.WaitStrategy != nil && obj.Spec.WaitStrategy.Name == helmv2.WaitStrategyLegacy
	return helm.Wait{Enabled: enabled, ForJobs: forJobs, Legacy: legacy}
}

// invalidateForCRDs forgets the cluster's discovery after a release that
// may have added CRDs, so the next release sees their kinds; others keep
// the shared discovery (thrown away after every install, it cost each
// release a discovery round and the OpenAPI documents).
func invalidateForCRDs(req *request) {
	if len(req.chart.CRDObjects()) > 0 || chartHasCRDTemplates(req.chart) {
		req.target.cluster.Invalidate()
	}
}

func chartHasCRDTemplates(ch *helm.Chart) bool {
	for _, t := range ch.Templates {
		if strings.Contains(string(t.Data), "CustomResourceDefinition") {
			return true
		}
	}
	for _, d := range ch.Dependencies() {
		if len(d.CRDObjects()) > 0 || chartHasCRDTemplates(d) {
			return true
		}
	}
	return false
}

// ssaMode maps the API's server-side apply mode to Helm's.
func ssaMode(m helmv2.ServerSideApplyMode) string {
	switch strings.ToLower(string(m)) {
	case "enabled":
		return "true"
	case "disabled":
		return "false"
	}
	return "auto"
}

func testFilters(filters []helmv2.Filter) map[string][]string {
	out := map[string][]string{}
	for _, f := range filters {
		if f.Exclude {
			out["!name"] = append(out["!name"], f.Name)
		} else {
			out["name"] = append(out["name"], f.Name)
		}
	}
	return out
}

// trimErr keeps an error message to a readable length for conditions,
// secrets masked first so that the cut never leaves part of one.
func trimErr(err error, secrets *redact.Values) string {
	s := strings.TrimSpace(secrets.String(err.Error()))
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return s
}

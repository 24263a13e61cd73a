package kustomization

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/drift"
	"github.com/tether-gitops/tether/internal/engine"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/livecache"
)

// reconcile runs the pipeline for one Kustomization: dependencies, source,
// inputs, render, apply, prune, health, status. It returns early, doing
// nothing, when the revision, spec, inputs and watched objects are all as
// they were at the last successful apply.
func (r *Reconciler) reconcile(ctx context.Context, obj *kustomizev1.Kustomization, force bool) (retErr error) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	// Progress events, once applying starts; registered first so that it
	// runs last, after secret values are masked out of the error.
	var progress *enginesync.Recorder
	defer func() {
		switch {
		case progress == nil:
		case retErr != nil:
			progress.Sync(enginesync.ResultFailed, retErr.Error())
		default:
			progress.Sync(enginesync.ResultSucceeded, "Applied revision: "+obj.Status.LastAppliedRevision)
		}
	}()
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "reconciling new object generation (%d)", obj.Generation)
	}
	if err := r.checkDependencies(ctx, obj); err != nil {
		return err
	}
	art, err := r.sourceArtifact(ctx, obj)
	if err != nil {
		return err
	}
	obj.Status.LastAttemptedRevision = art.Revision
	vars, secretValues, err := r.substitutions(ctx, obj)
	if err != nil {
		return err
	}
	defer func() { retErr = masked(retErr, secretValues) }()
	tgt, err := r.target(ctx, obj)
	if err != nil {
		return err
	}
	dec, err := Decryptor(ctx, r.APIReader, obj)
	if err != nil {
		return err
	}
	// New keys may open what the old ones could not: they are an input.
	state := appliedState{generation: obj.Generation, revision: art.Revision, inputs: inputsDigest(vars, tgt.key+"\x00"+dec.ID())}
	// The shortcut needs drift watches; a remote target has its own.
	watcher, live, err := r.clusterWatch(tgt)
	if err != nil {
		return err
	}
	last, drifts, ok := r.lastApplied(key)
	if ok && last == state && !force && conditions.IsTrue(obj, meta.ReadyCondition) {
		log.FromContext(ctx).V(1).Info("up to date", "revision", art.Revision)
		return nil
	}

	dir, release, err := r.artifacts.get(ctx, art)
	if err != nil {
		return err
	}
	defer release()
	objs, err := r.Renderer.Render(ctx, dir, art.Digest, r.renderOptions(obj, vars, dec))
	if err != nil {
		return fail(meta.BuildFailedReason, buildError(art.Revision, err))
	}
	log.FromContext(ctx).V(1).Info("rendered", "revision", art.Revision, "objects", len(objs))
	eng, err := engine.New(tgt.client, Owner(obj), engineOptions(tgt, live)...)
	if err != nil {
		return err
	}
	conditions.MarkReconciling(obj, meta.ProgressingReason, "applying revision '%s'", art.Revision)
	progress = &enginesync.Recorder{App: "Kustomization/" + obj.Namespace + "/" + obj.Name, Sink: r.Progress.Publish}
	progress.Sync(enginesync.ResultRunning, fmt.Sprintf("applying revision '%s'", art.Revision))
	result, err := eng.Apply(ctx, InputsOf(objs), ApplyOptions(obj))
	old := inventoryOf(obj.Status.Inventory)
	if result != nil {
		progress.Changes(result.ChangeSet)
	}
	if err != nil {
		if result != nil {
			// Written before the failure: keep it in the inventory so a
			// later prune still knows these objects are ours.
			obj.Status.Inventory = statusInventory(merge(old, result.Inventory))
			r.watchInventory(ctx, watcher, result.Inventory)
			return fail(meta.ReconciliationFailedReason, fmt.Errorf("apply of revision '%s' failed: %w", art.Revision, err))
		}
		// Nothing was written: the plan or its server-side validation
		// refused the revision as a whole.
		return fail(meta.BuildFailedReason, fmt.Errorf("revision '%s' is invalid, nothing was applied: %w", art.Revision, err))
	}
	obj.Status.Inventory = statusInventory(result.Inventory)
	r.watchInventory(ctx, watcher, result.Inventory)
	if obj.Spec.Prune {
		prune := engine.PruneOptions{Exclusions: map[string]string{meta.ReconcileAnnotation: kustomizev1.DisabledValue}}
		pruned, err := eng.Prune(ctx, old, result.Inventory, prune)
		progress.Changes(pruned)
		if err != nil {
			return fail(meta.PruneFailedReason, fmt.Errorf("prune failed: %w", err))
		}
	}
	if err := r.checkHealth(ctx, eng, obj, result.Inventory, progress); err != nil {
		return err
	}
	obj.Status.LastAppliedRevision = art.Revision
	msg := fmt.Sprintf("Applied revision: %s", art.Revision)
	conditions.MarkReady(obj, meta.ReconciliationSucceededReason, "%s", msg)
	if changes := summarize(result.ChangeSet); changes != "" {
		r.event(obj, corev1.EventTypeNormal, "Progressing", changes)
	}
	r.remember(key, state, drifts)
	return nil
}

// checkHealth waits for the applied objects (spec.wait) or for
// spec.healthChecks, up to spec.timeout, and sets Healthy.
func (r *Reconciler) checkHealth(ctx context.Context, eng *engine.Engine, obj *kustomizev1.Kustomization, inv engine.Inventory, progress *enginesync.Recorder) error {
	var refs []engine.ObjectRef
	switch {
	case obj.Spec.Wait:
		refs = inv.Refs()
	case len(obj.Spec.HealthChecks) > 0:
		for _, hc := range obj.Spec.HealthChecks {
			ns := hc.Namespace
			if ns == "" {
				ns = obj.Namespace
			}
			refs = append(refs, engine.ObjectRef{APIVersion: hc.APIVersion, Kind: hc.Kind, Namespace: ns, Name: hc.Name})
		}
	default:
		conditions.Delete(obj, meta.HealthyCondition)
		return nil
	}
	timeout := obj.Spec.Interval.Duration
	if obj.Spec.Timeout != nil {
		timeout = obj.Spec.Timeout.Duration
	}
	conditions.MarkReconciling(obj, meta.ProgressingReason, "checking health of %d objects", len(refs))
	progress.Wait(enginesync.ResultRunning, fmt.Sprintf("checking health of %d objects", len(refs)))
	if err := eng.Wait(ctx, refs, timeout); err != nil {
		progress.Wait(enginesync.ResultFailed, "health check failed")
		f := fail(meta.HealthCheckFailedReason, fmt.Errorf("health check failed after %s: %w", timeout, err))
		f.healthy = "False"
		return f
	}
	progress.Wait(enginesync.ResultSucceeded, "Health check passed")
	conditions.Set(obj, meta.HealthyCondition, metav1.ConditionTrue, meta.SucceededReason, "Health check passed")
	return nil
}

func (r *Reconciler) watchInventory(ctx context.Context, w *drift.Watcher, inv engine.Inventory) {
	seen := map[string]bool{}
	for _, e := range inv {
		gvk, err := e.GroupVersionKind()
		if err != nil || seen[gvk.String()] {
			continue
		}
		seen[gvk.String()] = true
		if err := w.Ensure(gvk); err != nil {
			logErr(ctx, err)
		}
	}
}

// clusterWatch returns the drift watcher and the live cache (nil when
// there is none) of the target's cluster: the local ones, or, for a
// remote cluster, ones started the first time (per kubeconfig Secret,
// shared by every identity on that cluster, as the local ones are) and
// replaced, the old watches stopped, when the kubeconfig changes.
func (r *Reconciler) clusterWatch(tgt *target) (*drift.Watcher, *livecache.Cache, error) {
	if tgt.cfg == nil {
		return r.drift, r.Live, nil
	}
	w, err := r.remoteDrift.Get(tgt.cluster, tgt.version, func() (*remoteDrift, error) {
		done, stop := context.WithCancel(context.Background())
		run := drift.RunUntil(r.mgr, done)
		var live *livecache.Cache
		if r.Live != nil {
			var err error
			live, err = livecache.New(tgt.clusterCfg, r.Client.Scheme(), tgt.client.RESTMapper(),
				livecache.Options{Markers: []livecache.Marker{{Label: kustomizev1.NameLabel}}})
			if err == nil {
				err = run(live)
			}
			if err != nil {
				stop()
				return nil, fmt.Errorf("live cache: %w", err)
			}
		}
		w, err := newDriftWatcher(r.mgr, r.ctrl, r.markDirty, tgt.clusterCfg, tgt.client.RESTMapper(), live, run)
		if err != nil {
			stop()
			return nil, err
		}
		return &remoteDrift{watcher: w, live: live, stop: stop}, nil
	})
	if err != nil {
		return nil, nil, fail(meta.ReconciliationFailedReason, fmt.Errorf("watches on the remote cluster: %w", err))
	}
	return w.watcher, w.live, nil
}

// remoteDrift is the drift watcher and live cache of one remote cluster;
// stop ends their watches.
type remoteDrift struct {
	watcher *drift.Watcher
	live    *livecache.Cache
	stop    context.CancelFunc
}

// engineOptions reads the target's cluster through its live cache, when
// there is one; what the cache remembers is kept per identity (tgt.key).
func engineOptions(tgt *target, live *livecache.Cache) []engine.Option {
	if live == nil {
		return nil
	}
	return []engine.Option{engine.WithLiveCache(live, tgt.key)}
}

// ApplyOptions are the engine options a Kustomization applies (and
// `tether diff ks` dry-runs) its objects with: Flux's spec.force, its
// reconcile, force and ssa annotations, and the default namespace.
func ApplyOptions(obj *kustomizev1.Kustomization) engine.ApplyOptions {
	return engine.ApplyOptions{
		Force:            obj.Spec.Force,
		DefaultNamespace: defaultNamespace(obj),
		Exclusions:       map[string]string{meta.ReconcileAnnotation: kustomizev1.DisabledValue},
		ForceSelector:    map[string]string{kustomizev1.ForceAnnotation: kustomizev1.EnabledValue},
		IfNotPresent:     map[string]string{kustomizev1.SSAAnnotation: kustomizev1.IfNotPresentValue},
		Concurrency:      8,
	}
}

func defaultNamespace(obj *kustomizev1.Kustomization) string {
	if obj.Spec.TargetNamespace != "" {
		return obj.Spec.TargetNamespace
	}
	return obj.Namespace
}

// inputsDigest identifies the inputs besides revision and spec: the
// substitution values and the target identity and cluster.
func inputsDigest(vars map[string]string, target string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, vars[k])
	}
	h.Write([]byte(target))
	return hex.EncodeToString(h.Sum(nil))
}

// merge returns a followed by the entries of b that a lacks.
func merge(a, b engine.Inventory) engine.Inventory {
	seen := map[string]bool{}
	out := append(engine.Inventory{}, a...)
	for _, e := range a {
		seen[e.ID] = true
	}
	for _, e := range b {
		if !seen[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

// summarize turns a change set into Flux's event text: one line per
// created, configured or deleted object.
func summarize(changes []engine.Change) string {
	var lines []string
	for _, c := range changes {
		if c.Action == engine.ActionUnchanged || c.Action == engine.ActionSkipped {
			continue
		}
		lines = append(lines, c.String())
	}
	return strings.Join(lines, "\n")
}

package application

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/render"
)

// Hook delete policies (argocd.argoproj.io/hook-delete-policy).
const (
	policyHookSucceeded      = "HookSucceeded"
	policyHookFailed         = "HookFailed"
	policyBeforeHookCreation = "BeforeHookCreation"
)

// pollInterval is how often waves and hooks are checked while a sync waits.
const pollInterval = 500 * time.Millisecond

// hookRun is one hook object created by a sync.
type hookRun struct {
	obj      *unstructured.Unstructured
	hookType argov1.HookType
	policies []string
	result   int // index in syncRun.results
	done     bool
	failed   bool
}

// deletePolicies reads the hook's delete policies; BeforeHookCreation when
// none is given, as in Argo CD.
func deletePolicies(obj *unstructured.Unstructured) []string {
	var out []string
	for p := range strings.SplitSeq(obj.GetAnnotations()[argov1.AnnotationHookDeletePolicy], ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{policyBeforeHookCreation}
	}
	return out
}

// createHooks creates the hooks of one step, deleting an earlier run's
// object of the same name first (BeforeHookCreation).
func (s *syncRun) createHooks(ctx context.Context, objs []render.Object, phase argov1.SyncPhase) ([]*hookRun, error) {
	var out []*hookRun
	for _, o := range objs {
		obj := o.Obj.DeepCopy()
		if err := s.r.defaultNamespace(obj, s.app.Spec.Destination.Namespace); err != nil {
			return out, fmt.Errorf("hook %s/%s: %w", obj.GetKind(), hookName(obj), err)
		}
		if obj.GetName() != "" {
			setTracking(obj, appID(keyOf(s.app), s.r.ControlPlaneNamespace))
		}
		h := &hookRun{obj: obj, hookType: argov1.HookType(phase), policies: deletePolicies(obj)}
		if phase == argov1.SyncPhaseSyncFail {
			h.hookType = argov1.HookTypeSyncFail
		}
		if obj.GetName() != "" && slices.Contains(h.policies, policyBeforeHookCreation) {
			if err := s.r.deleteAndWait(ctx, obj); err != nil {
				return out, fmt.Errorf("hook %s/%s: delete the previous run: %w", obj.GetKind(), obj.GetName(), err)
			}
		}
		if err := s.r.Client.Create(ctx, obj, client.FieldOwner(FieldManager)); err != nil {
			s.result(obj, argov1.ResultCodeSyncFailed, phase, err.Error())
			return out, fmt.Errorf("hook %s/%s failed to create: %w", obj.GetKind(), hookName(obj), err)
		}
		s.result(obj, argov1.ResultCodeSynced, phase, subjectOf(obj)+" created")
		h.result = len(s.results) - 1
		s.results[h.result].HookType, s.results[h.result].HookPhase = h.hookType, argov1.OperationRunning
		out = append(out, h)
		s.hooks = append(s.hooks, h)
	}
	return out, nil
}

func hookName(obj *unstructured.Unstructured) string {
	if obj.GetName() != "" {
		return obj.GetName()
	}
	return obj.GetGenerateName() + "*"
}

// waitStep waits until every hook has completed and every resource is
// healthy; a failed hook or a degraded resource fails the step.
func (s *syncRun) waitStep(ctx context.Context, resources []*resource, hooks []*hookRun) error {
	if len(resources) == 0 && len(hooks) == 0 {
		return nil
	}
	var waiting string
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		waiting = ""
		for _, h := range hooks {
			if err := s.checkHook(ctx, h); err != nil {
				return false, err
			}
			if !h.done && waiting == "" {
				waiting = "waiting for completion of hook " + subjectOf(h.obj)
			}
		}
		for _, res := range resources {
			live, err := s.r.getLive(ctx, res.Desired)
			if err != nil {
				return false, err
			}
			h := healthOf(live)
			switch {
			case h == nil || h.Status == argov1.HealthStatusHealthy || h.Status == argov1.HealthStatusSuspended:
			case h.Status == argov1.HealthStatusDegraded:
				return false, fmt.Errorf("%s is Degraded: %s", subjectOf(res.Desired), h.Message)
			default:
				if waiting == "" {
					waiting = "waiting for healthy state of " + subjectOf(res.Desired)
				}
			}
		}
		return waiting == "", nil
	})
	if err != nil && waiting != "" && ctx.Err() != nil {
		return fmt.Errorf("%s: timed out", waiting)
	}
	return err
}

// checkHook reads a hook's state: complete when healthy (a Job that
// succeeded, a Pod that exited 0) or when its kind has no health.
func (s *syncRun) checkHook(ctx context.Context, h *hookRun) error {
	if h.done {
		return nil
	}
	live, err := s.r.getLive(ctx, h.obj)
	if err != nil {
		return err
	}
	res := &s.results[h.result]
	switch hs := healthOf(live); {
	case live == nil:
		h.done, h.failed = true, true
		res.HookPhase, res.Message = argov1.OperationFailed, "hook deleted before it completed"
		return fmt.Errorf("hook %s was deleted before it completed", subjectOf(h.obj))
	case hs == nil || hs.Status == argov1.HealthStatusHealthy:
		h.done = true
		res.HookPhase = argov1.OperationSucceeded
		if hs != nil && hs.Message != "" {
			res.Message = hs.Message
		}
	case hs.Status == argov1.HealthStatusDegraded:
		h.done, h.failed = true, true
		res.HookPhase, res.Status, res.Message = argov1.OperationFailed, argov1.ResultCodeSyncFailed, hs.Message
		return fmt.Errorf("hook %s failed: %s", subjectOf(h.obj), hs.Message)
	}
	return nil
}

// runSyncFail creates the SyncFail hooks after a failed sync and waits for
// them, on a fresh deadline when the sync's own has passed.
func (s *syncRun) runSyncFail(ctx context.Context) {
	var objs []render.Object
	for _, h := range s.cmp.hooks {
		if slices.Contains(hookTypes(h.Obj), argov1.HookTypeSyncFail) {
			objs = append(objs, h)
		}
	}
	if len(objs) == 0 || s.dryRun {
		return
	}
	sort.SliceStable(objs, func(i, j int) bool { return waveOf(objs[i].Obj) < waveOf(objs[j].Obj) })
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
	}
	hooks, err := s.createHooks(ctx, objs, argov1.SyncPhaseSyncFail)
	if err == nil {
		_ = s.waitStep(ctx, nil, hooks)
	}
}

// cleanupHooks deletes hooks by their policies once the sync is over.
func (s *syncRun) cleanupHooks(ctx context.Context, succeeded bool) {
	for _, h := range s.hooks {
		del := (h.done && !h.failed && slices.Contains(h.policies, policyHookSucceeded)) ||
			(h.failed && slices.Contains(h.policies, policyHookFailed))
		if !del {
			continue
		}
		err := s.r.Client.Delete(ctx, h.obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			s.results[h.result].Message += "; delete failed: " + err.Error()
		}
	}
	_ = succeeded
}

// deleteAndWait deletes obj if it exists and waits until it is gone.
func (r *Reconciler) deleteAndWait(ctx context.Context, obj *unstructured.Unstructured) error {
	live, err := r.getLive(ctx, obj)
	if err != nil || live == nil {
		return err
	}
	if err := r.Client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		l, err := r.getLive(ctx, obj)
		return l == nil, err
	})
}

// getLive reads obj from the API server; nil when it does not exist.
func (r *Reconciler) getLive(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), live)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", subjectOf(obj), err)
	}
	return live, nil
}

// defaultNamespace puts a namespaced object without a namespace into ns.
func (r *Reconciler) defaultNamespace(obj *unstructured.Unstructured, ns string) error {
	gvk := obj.GroupVersionKind()
	m, err := r.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		obj.SetNamespace("")
		return nil
	}
	if obj.GetNamespace() == "" {
		if ns == "" {
			return fmt.Errorf("namespaced object without metadata.namespace, and the app has no destination namespace")
		}
		obj.SetNamespace(ns)
	}
	return nil
}

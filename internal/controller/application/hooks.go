package application

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// syncFailTimeout bounds the SyncFail hooks when the sync's own deadline
// has passed.
const syncFailTimeout = 2 * time.Minute

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

// createHooks creates the hooks of one step. A hook of the same name from
// an earlier sync is deleted first (BeforeHookCreation) or, without that
// policy, applied again in place: named hooks persist across syncs. An
// object of that name that is not this app's is never touched.
func (s *syncRun) createHooks(ctx context.Context, objs []render.Object, phase argov1.SyncPhase) ([]*hookRun, error) {
	var out []*hookRun
	for _, o := range objs {
		h, err := s.createHook(ctx, o, phase)
		if h != nil {
			out = append(out, h)
			s.hooks = append(s.hooks, h)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *syncRun) createHook(ctx context.Context, o render.Object, phase argov1.SyncPhase) (*hookRun, error) {
	obj, err := s.hookObject(o)
	if err != nil {
		return nil, err
	}
	h := &hookRun{obj: obj, hookType: argov1.HookType(phase), policies: deletePolicies(obj)}
	recreate := slices.Contains(h.policies, policyBeforeHookCreation)
	var live *unstructured.Unstructured
	if obj.GetName() != "" {
		if live, err = s.dest.getLive(ctx, obj); err != nil {
			return nil, err
		}
	}
	if live != nil {
		if id, self := trackedBy(live, live.GroupVersionKind().GroupKind()); !self || id != appID(keyOf(s.app), s.r.ControlPlaneNamespace) {
			err := fmt.Errorf("hook %s: an object of that name exists and is not this app's hook", subjectOf(obj))
			s.result(obj, argov1.ResultCodeSyncFailed, phase, err.Error())
			return nil, err
		}
	}
	switch {
	case live != nil && recreate:
		if err := s.dest.deleteAndWait(ctx, live); err != nil {
			return nil, fmt.Errorf("hook %s: delete the previous run: %w", subjectOf(obj), err)
		}
		err = s.dest.client.Create(ctx, obj, client.FieldOwner(FieldManager))
	case live != nil:
		err = s.dest.client.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership)
	default:
		err = s.dest.client.Create(ctx, obj, client.FieldOwner(FieldManager))
	}
	if err != nil {
		err = fmt.Errorf("hook %s failed to create: %s", hookName(obj), hookError(obj, err))
		s.result(obj, argov1.ResultCodeSyncFailed, phase, err.Error())
		return nil, err
	}
	s.result(obj, argov1.ResultCodeSynced, phase, subjectOf(obj)+" created")
	h.result = len(s.results) - 1
	s.results[h.result].HookType, s.results[h.result].HookPhase = h.hookType, argov1.OperationRunning
	return h, nil
}

// hookObject is a hook ready to create: in the destination namespace when
// it names none, tracked by the app when it has a name.
func (s *syncRun) hookObject(o render.Object) (*unstructured.Unstructured, error) {
	obj := o.Obj.DeepCopy()
	if err := s.dest.defaultNamespace(obj, s.app.Spec.Destination.Namespace); err != nil {
		return nil, fmt.Errorf("hook %s/%s: %w", obj.GetKind(), hookName(obj), err)
	}
	if obj.GetName() != "" {
		setTracking(obj, appID(keyOf(s.app), s.r.ControlPlaneNamespace), s.app.Spec.Destination.Namespace)
	}
	return obj, nil
}

// hookError is err as it may be shown: for a Secret only the API's reason,
// since the message could quote the Secret's data.
func hookError(obj *unstructured.Unstructured, err error) string {
	if obj.GetKind() == "Secret" && obj.GroupVersionKind().Group == "" {
		return "the API server refused the Secret (" + string(apierrors.ReasonForError(err)) + ")"
	}
	return err.Error()
}

// dryRunHooks asks the API server to validate every hook this sync may
// create, before anything is written; it returns the refusals.
func (s *syncRun) dryRunHooks(ctx context.Context) []string {
	var errs []string
	for _, o := range s.runnableHooks() {
		obj, err := s.hookObject(o)
		if err == nil {
			if obj.GetName() != "" {
				obj.SetGenerateName(obj.GetName() + "-")
				obj.SetName("")
			}
			err = s.dest.client.Create(ctx, obj, client.DryRunAll, client.FieldOwner(FieldManager))
			if s.namespaceComing(err, obj) {
				err = nil
			}
			if err != nil {
				err = fmt.Errorf("hook %s (%s): %s", hookName(o.Obj), o.Source, hookError(obj, err))
			}
		}
		if err != nil {
			s.result(o.Obj, argov1.ResultCodeSyncFailed, argov1.SyncPhaseSync, err.Error())
			errs = append(errs, err.Error())
		}
	}
	return errs
}

// namespaceComing reports whether err only says that obj's namespace is
// missing while the sync is about to create it (CreateNamespace=true).
func (s *syncRun) namespaceComing(err error, obj *unstructured.Unstructured) bool {
	if !apierrors.IsNotFound(err) || obj.GetNamespace() != s.app.Spec.Destination.Namespace {
		return false
	}
	return s.opts.Has(argov1.SyncOptionCreateNamespace)
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
			live, err := s.dest.getLive(ctx, res.Desired)
			if err != nil {
				return false, err
			}
			h := healthOf(ctx, s.cmp.scripts, live)
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
	live, err := s.dest.getLive(ctx, h.obj)
	if err != nil {
		return err
	}
	res := &s.results[h.result]
	switch hs := healthOf(ctx, s.cmp.scripts, live); {
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
	case hs.Status == argov1.HealthStatusDegraded || hs.Status == argov1.HealthStatusUnknown:
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
	if len(objs) == 0 || s.dryRun || !s.runHooks {
		return
	}
	sort.SliceStable(objs, func(i, j int) bool { return waveOf(objs[i].Obj) < waveOf(objs[j].Obj) })
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), syncFailTimeout)
		defer cancel()
	}
	hooks, err := s.createHooks(ctx, objs, argov1.SyncPhaseSyncFail)
	if err == nil {
		_ = s.waitStep(ctx, nil, hooks)
	}
}

// cleanupHooks deletes hooks by their policies once the sync is over.
func (s *syncRun) cleanupHooks(ctx context.Context) {
	for _, h := range s.hooks {
		del := (h.done && !h.failed && slices.Contains(h.policies, policyHookSucceeded)) ||
			(h.failed && slices.Contains(h.policies, policyHookFailed))
		if !del {
			continue
		}
		uid := h.obj.GetUID()
		err := s.dest.client.Delete(ctx, h.obj, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &uid})
		if err != nil && !apierrors.IsNotFound(err) {
			s.results[h.result].Message += "; delete failed: " + err.Error()
		}
	}
}

package application

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/render"
)

// Hook delete policies (argocd.argoproj.io/hook-delete-policy).
const (
	policyHookSucceeded      = "HookSucceeded"
	policyHookFailed         = "HookFailed"
	policyBeforeHookCreation = "BeforeHookCreation"
)

// pollInterval is how often a delete is checked while a hook of an
// earlier sync goes away.
const pollInterval = 500 * time.Millisecond

// hookRun is one hook object created by a sync.
type hookRun struct {
	obj      *unstructured.Unstructured
	policies []string
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

// Hook creates the hook of one task. A hook of the same name from an
// earlier sync is deleted first (BeforeHookCreation) or, without that
// policy, applied again in place: named hooks persist across syncs. An
// object of that name that is not this app's is never touched.
func (s *syncRun) Hook(ctx context.Context, st *enginesync.Step, t *enginesync.Task, report enginesync.Report) error {
	// Not after a termination, SyncFail hooks included (their context is
	// a fresh one), as Argo CD runs none then.
	if err := s.stopped(); err != nil {
		return err
	}
	obj, err := s.hookObject(t.Payload.(render.Object))
	if err != nil {
		report(t, enginesync.ActionHook, enginesync.ResultFailed, err.Error())
		return err
	}
	h := &hookRun{obj: obj, policies: deletePolicies(obj)}
	recreate := slices.Contains(h.policies, policyBeforeHookCreation)
	var live *unstructured.Unstructured
	if obj.GetName() != "" {
		if live, err = s.dest.getLive(ctx, obj); err != nil {
			return err
		}
	}
	if live != nil {
		if id, self := trackedBy(live, live.GroupVersionKind().GroupKind()); !self || id != appID(keyOf(s.app), s.r.ControlPlaneNamespace) {
			err := fmt.Errorf("hook %s: an object of that name exists and is not this app's hook", subjectOf(obj))
			report(t, enginesync.ActionHook, enginesync.ResultFailed, err.Error())
			return err
		}
	}
	switch {
	case live != nil && recreate:
		if err := s.dest.deleteAndWait(ctx, live); err != nil {
			return fmt.Errorf("hook %s: delete the previous run: %w", subjectOf(obj), err)
		}
		err = s.dest.client.Create(ctx, obj, client.FieldOwner(FieldManager))
	case live != nil:
		err = s.dest.client.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership)
	default:
		err = s.dest.client.Create(ctx, obj, client.FieldOwner(FieldManager))
	}
	if err != nil {
		err = fmt.Errorf("hook %s failed to create: %s", hookName(obj), hookError(obj, err))
		report(t, enginesync.ActionHook, enginesync.ResultFailed, err.Error())
		return err
	}
	if s.live != nil {
		s.live.Wrote(obj) // its health is read through the cache next
	}
	t.Object.Name, t.Object.Namespace = obj.GetName(), obj.GetNamespace()
	s.hooks[t] = h
	report(t, enginesync.ActionHook, enginesync.ResultRunning, subjectOf(obj)+" created")
	return nil
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

// Cleanup deletes a hook once the sync is over, by its policies.
// A terminated operation leaves its hooks as they are.
func (s *syncRun) Cleanup(ctx context.Context, t *enginesync.Task, succeeded bool) {
	h := s.hooks[t]
	if h == nil || s.stopped() != nil {
		return
	}
	del := (succeeded && slices.Contains(h.policies, policyHookSucceeded)) ||
		(!succeeded && slices.Contains(h.policies, policyHookFailed))
	if !del {
		return
	}
	uid := h.obj.GetUID()
	err := s.dest.client.Delete(ctx, h.obj, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &uid})
	if i, ok := s.hookResults[hookKey{ref: t.Object, phase: argov1.SyncPhase(t.Phase)}]; ok && err != nil && !apierrors.IsNotFound(err) {
		s.results[i].Message += "; delete failed: " + err.Error()
	}
}

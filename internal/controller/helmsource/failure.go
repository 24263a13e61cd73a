package helmsource

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/source/artifact"
)

// failure is a reconcile error with the condition reason it maps to.
type failure struct {
	reason    string
	condition string // extra condition set True, such as FetchFailed
	stalled   bool
	err       error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// fetchFailure maps an internal/helm error to Flux's reasons. Fetch
// failures are retried: a server that answers with garbage today may be
// fixed tomorrow without anyone editing the object (only settings that can
// never work stall, and they are checked before fetching).
func fetchFailure(reason string, err error) *failure {
	f := &failure{reason: reason, condition: sourcev1.FetchFailedCondition, err: err}
	if errors.Is(err, helm.ErrAuthentication) {
		f.reason = sourcev1.AuthenticationFailedReason
	}
	return f
}

// object is a Helm source as the shared status code sees it.
type object interface {
	client.Object
	conditions.Object
	GetRequeueAfter() time.Duration
}

// status records failures and writes status changes for both kinds.
type status struct {
	client client.Client
	reader client.Reader // reads around the cache after a conflict
	events lifecycle.EventRecorder
}

// failed records err in status, an event and the log, and asks for a
// retry unless retrying cannot help.
func (s *status) failed(ctx context.Context, obj object, err error) (ctrl.Result, error) {
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{reason: meta.FailedReason, err: err}
	}
	conditions.MarkFailed(obj, f.stalled, f.reason, "%s", f.err.Error())
	if f.condition != "" {
		conditions.Set(obj, f.condition, metav1.ConditionTrue, f.reason, "%s", f.err.Error())
	}
	s.event(obj, corev1.EventTypeWarning, f.reason, f.err.Error())
	log.FromContext(ctx).Info("reconcile failed", "reason", f.reason, "error", f.err.Error())
	if f.stalled {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: min(max(obj.GetRequeueAfter()/5, 2*time.Second), obj.GetRequeueAfter())}, nil
}

// patch writes obj's status when it differs from before's.
func (s *status) patch(ctx context.Context, before, obj client.Object, oldStatus, newStatus any) error {
	if equality.Semantic.DeepEqual(oldStatus, newStatus) {
		return nil
	}
	return lifecycle.PatchStatus(ctx, s.client, s.reader, before, obj)
}

func (s *status) event(obj client.Object, typ, reason, note string) {
	if s.events != nil {
		s.events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}

// artifactOf turns a stored artifact into its status record.
func artifactOf(revision string, st artifact.Stored) *meta.Artifact {
	size := st.Size
	return &meta.Artifact{
		Path:           st.Path,
		URL:            st.URL,
		Revision:       revision,
		Digest:         st.Digest,
		LastUpdateTime: metav1.NewTime(st.LastUpdateTime),
		Size:           &size,
	}
}

// prelude runs the first steps of every Helm source reconcile: a deleted
// object loses its artifacts and its finalizer, a live one gets the
// finalizer, a suspended one is left alone. done means the reconcile ends
// here.
func prelude(ctx context.Context, c client.Client, storage *artifact.Storage, kind string, obj client.Object, suspended bool) (bool, error) {
	if !obj.GetDeletionTimestamp().IsZero() {
		if err := storage.Delete(kind, obj.GetNamespace(), obj.GetName()); err != nil {
			return true, err
		}
		return true, lifecycle.RemoveFinalizer(ctx, c, obj, sourcev1.SourceFinalizer)
	}
	if err := lifecycle.EnsureFinalizer(ctx, c, obj, sourcev1.SourceFinalizer); err != nil {
		return true, err
	}
	if suspended {
		log.FromContext(ctx).V(1).Info("reconciliation is suspended")
		return true, nil
	}
	return false, nil
}

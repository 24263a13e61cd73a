package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/engine"
)

// deletionRecheck is how soon a deleting app looks again for objects that
// are still going away; deletionRetry how soon it tries again after an
// error.
const (
	deletionRecheck = time.Second
	deletionRetry   = 5 * time.Second
)

// finalizers that make deleting an app delete its objects, and how.
var resourceFinalizers = map[string]metav1.DeletionPropagation{
	argov1.ResourcesFinalizerName:               metav1.DeletePropagationForeground,
	argov1.ForegroundPropagationPolicyFinalizer: metav1.DeletePropagationForeground,
	argov1.BackgroundPropagationPolicyFinalizer: metav1.DeletePropagationBackground,
}

// finalize deletes an app's objects when it carries a resources
// finalizer, waits until they are gone, and then lets the app go. Objects
// with the sync option Delete=false stay.
func (r *Reconciler) finalize(ctx context.Context, app *argov1.Application) (ctrl.Result, error) {
	var finalizer string
	for _, f := range app.Finalizers {
		if _, ok := resourceFinalizers[f]; ok {
			finalizer = f
			break
		}
	}
	if finalizer == "" {
		return ctrl.Result{}, nil
	}
	dest, err := r.destination(ctx, app)
	if errors.Is(err, cluster.ErrNotFound) {
		// The cluster is gone, and its objects with it or out of reach.
		r.event(app, corev1.EventTypeWarning, "DeletionError", err.Error()+"; the app is deleted without its objects")
		return ctrl.Result{}, lifecycle.RemoveFinalizer(ctx, r.Client, app, finalizer)
	}
	if err != nil {
		r.event(app, corev1.EventTypeWarning, "DeletionError", err.Error())
		return ctrl.Result{RequeueAfter: deletionRetry}, err
	}
	eng, err := engine.New(dest.client, r.owner(app))
	if err != nil {
		return ctrl.Result{}, err
	}
	var inv engine.Inventory
	for _, st := range app.Status.Resources {
		inv = append(inv, engine.Entry{ID: statusID(st), Version: st.Version})
	}
	changes, err := eng.Prune(ctx, inv, nil, engine.PruneOptions{AllowEmpty: true,
		Propagation: resourceFinalizers[finalizer],
		Exclusions:  map[string]string{argov1.AnnotationSyncOptions: argov1.SyncOptionDisableDelete}})
	if err != nil {
		r.event(app, corev1.EventTypeWarning, "DeletionError", err.Error())
		return ctrl.Result{RequeueAfter: deletionRetry}, fmt.Errorf("delete objects of %s/%s: %w", app.Namespace, app.Name, err)
	}
	for _, c := range changes {
		if c.Action == engine.ActionDeleted {
			// Deleted, or still going away: look again until nothing is left.
			return ctrl.Result{RequeueAfter: deletionRecheck}, nil
		}
	}
	r.forget(keyOf(app))
	return ctrl.Result{}, lifecycle.RemoveFinalizer(ctx, r.Client, app, finalizer)
}

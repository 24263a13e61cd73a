package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// msgNoOperation refuses to terminate what does not run: Argo CD's words,
// which scripts match.
const msgNoOperation = "Unable to terminate operation. No operation is in progress"

// errNoOperation says the app has no operation to terminate.
var errNoOperation = errors.New("no operation is in progress")

// terminateOperation is DELETE /api/v1/applications/{name}/operation, as
// `argocd app terminate-op`: with the sync right on the app, as in Argo
// CD, it sets status.operationState.phase to Terminating, and the
// controller stops the operation and records it Failed ("Operation
// terminated"). The answer is Argo CD's empty OperationTerminateResponse;
// with no operation running it is 400 (InvalidArgument).
func (s *Server) terminateOperation(w http.ResponseWriter, r *http.Request) {
	app, ok := s.readApplication(w, r, actSync)
	if !ok {
		return
	}
	err := s.requestTermination(r.Context(), client.ObjectKeyFromObject(app))
	switch {
	case errors.Is(err, errNoOperation):
		writeError(w, codeInvalidArgument, msgNoOperation)
	case err != nil:
		s.writeKubeError(w, err, "terminate the operation")
	default:
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

// requestTermination marks the running operation of the app at key
// Terminating through the status subresource, reading the app again on
// every conflict: the controller writes the status of a running operation
// as it goes, and a write on a stale copy would undo its progress. An
// operation that already ended meanwhile is errNoOperation.
func (s *Server) requestTermination(ctx context.Context, key client.ObjectKey) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var app argov1.Application
		if err := s.deps.APIReader.Get(ctx, key, &app); err != nil {
			return fmt.Errorf("read Application %s: %w", key, err)
		}
		st := app.Status.OperationState
		switch {
		case st == nil || (st.Phase != argov1.OperationRunning && st.Phase != argov1.OperationTerminating):
			return errNoOperation
		case st.Phase == argov1.OperationTerminating:
			return nil // asked already
		}
		st.Phase = argov1.OperationTerminating
		if err := s.deps.Client.Status().Update(ctx, &app); err != nil {
			return fmt.Errorf("mark the operation of Application %s Terminating: %w", key, err)
		}
		return nil
	})
}

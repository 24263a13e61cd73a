package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/project"
	"github.com/tether-gitops/tether/internal/server/rbac"
)

// More actions of Argo CD's RBAC.
const (
	actCreate = "create"
	actDelete = "delete"
	actSync   = "sync"
)

// Finalizers that make a delete cascade (Argo CD's).
const (
	finalizerCascade           = "resources-finalizer.argocd.argoproj.io"
	finalizerCascadeBackground = "resources-finalizer.argocd.argoproj.io/background"
)

// refreshWait bounds how long GET ?refresh= waits for the controller.
const refreshWait = time.Minute

// decodeApp reads an Application from the request body.
func decodeApp(w http.ResponseWriter, r *http.Request) (*argov1.Application, bool) {
	var app argov1.Application
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSmallBody)).Decode(&app); err != nil {
		writeError(w, codeInvalidArgument, "request body must be an Application in JSON: "+err.Error())
		return nil, false
	}
	return &app, true
}

// checkProject checks app against its project's rules, as the API server
// must before it stores anything (the controller checks again before
// every sync): the project exists, and permits the app's namespace,
// sources and destination. Its error is for the caller.
func (s *Server) checkProject(ctx context.Context, app *argov1.Application) (code, error) {
	name := projectOf(app)
	var proj *project.Project
	var ap argov1.AppProject
	switch err := s.deps.Client.Get(ctx, keyOf(s.cfg.Namespace, name), &ap); {
	case apierrors.IsNotFound(err) && name == "default":
		proj = project.Default()
	case apierrors.IsNotFound(err):
		return codeInvalidArgument, fmt.Errorf("application references project %s which does not exist", name)
	case err != nil:
		return codeInternal, fmt.Errorf("read AppProject %s: %w", name, err)
	default:
		proj = project.New(&ap)
	}
	if !proj.PermitsSourceNamespace(app.Namespace, s.cfg.Namespace) {
		return codePermissionDenied, fmt.Errorf("application in namespace %s is not permitted in project %s", app.Namespace, name)
	}
	srcs := app.Spec.GetSources()
	if len(srcs) == 0 {
		return codeInvalidArgument, errors.New("spec.source or spec.sources is required")
	}
	for _, src := range srcs {
		if !proj.PermitsSource(src.RepoURL) {
			return codeInvalidArgument, fmt.Errorf("application repo %s is not permitted in project '%s'", src.RepoURL, name)
		}
	}
	if !proj.PermitsDestination(app.Spec.Destination) {
		return codeInvalidArgument, fmt.Errorf("application destination server '%s' and namespace '%s' do not match any of the allowed destinations in project '%s'",
			app.Spec.Destination.Server+app.Spec.Destination.Name, app.Spec.Destination.Namespace, name)
	}
	return 0, nil
}

// createApplication is POST /api/v1/applications (upsert=true replaces an
// existing app's spec; without it an app that differs is refused).
func (s *Server) createApplication(w http.ResponseWriter, r *http.Request) {
	app, ok := decodeApp(w, r)
	if !ok {
		return
	}
	if app.Namespace == "" {
		app.Namespace = s.cfg.Namespace
	}
	if app.Name == "" {
		writeError(w, codeInvalidArgument, "metadata.name is required")
		return
	}
	ctx := r.Context()
	policy, err := s.rbacPolicy(ctx)
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	if !s.served(app.Namespace) || !allows(policy, r, resApplications, actCreate, s.appObject(app)) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return
	}
	if c, err := s.checkProject(ctx, app); err != nil {
		writeError(w, c, err.Error())
		return
	}
	app.ResourceVersion, app.UID, app.Status, app.Operation = "", "", argov1.ApplicationStatus{}, nil
	err = s.deps.Client.Create(ctx, app)
	if apierrors.IsAlreadyExists(err) {
		s.upsertApplication(w, r, app, policy)
		return
	}
	if err != nil {
		s.writeKubeError(w, err, "create Application")
		return
	}
	appForAPI(app)
	writeJSON(w, http.StatusOK, app)
}

// upsertApplication answers a create of an app that exists: the same spec
// is fine; another needs upsert=true and update rights.
func (s *Server) upsertApplication(w http.ResponseWriter, r *http.Request, app *argov1.Application, policy *rbac.Policy) {
	var existing argov1.Application
	if err := s.deps.APIReader.Get(r.Context(), client.ObjectKeyFromObject(app), &existing); err != nil {
		s.writeKubeError(w, err, "read Application")
		return
	}
	sub := subject(caller(r.Context()))
	if !policy.Allow(sub, resApplications, actGet, s.appObject(&existing)) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return
	}
	sameSpec := equality.Semantic.DeepEqual(existing.Spec, app.Spec)
	if !sameSpec && r.URL.Query().Get("upsert") != "true" {
		writeError(w, codeInvalidArgument, "existing application spec is different, use upsert flag to force update")
		return
	}
	if !sameSpec {
		if !policy.Allow(sub, resApplications, actUpdate, s.appObject(&existing)) {
			writeError(w, codePermissionDenied, errPermissionDenied)
			return
		}
		existing.Spec = app.Spec
		if err := s.deps.Client.Update(r.Context(), &existing); err != nil {
			s.writeKubeError(w, err, "update Application")
			return
		}
	}
	appForAPI(&existing)
	writeJSON(w, http.StatusOK, &existing)
}

// updateApplication is PUT /api/v1/applications/{name}: the body's spec,
// labels, annotations and finalizers replace the app's. Moving an app to
// another project needs update rights in both.
func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeApp(w, r)
	if !ok {
		return
	}
	current, ok := s.readApplication(w, r, actUpdate)
	if !ok {
		return
	}
	if body.Name != "" && body.Name != current.Name {
		writeError(w, codeInvalidArgument, "metadata.name must match the path")
		return
	}
	body.Name, body.Namespace = current.Name, current.Namespace
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	if !allows(policy, r, resApplications, actUpdate, s.appObject(body)) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return
	}
	if c, err := s.checkProject(r.Context(), body); err != nil {
		writeError(w, c, err.Error())
		return
	}
	var out argov1.Application
	err = s.modifyApplication(r.Context(), current, &out, func(app *argov1.Application) error {
		app.Spec, app.Labels, app.Annotations = body.Spec, body.Labels, body.Annotations
		if body.Finalizers != nil {
			app.Finalizers = body.Finalizers
		}
		return nil
	})
	if err != nil {
		s.writeKubeError(w, err, "update Application")
		return
	}
	appForAPI(&out)
	writeJSON(w, http.StatusOK, &out)
}

// modifyApplication applies change to the latest copy of app (read around
// the cache) and writes it, retrying on conflicts; out receives the
// written app. A change that returns an error writes nothing.
func (s *Server) modifyApplication(ctx context.Context, app *argov1.Application, out *argov1.Application, change func(*argov1.Application) error) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.deps.APIReader.Get(ctx, client.ObjectKeyFromObject(app), out); err != nil {
			return err
		}
		if err := change(out); err != nil {
			return err
		}
		return s.deps.Client.Update(ctx, out)
	})
}

// deleteApplication is DELETE /api/v1/applications/{name}: cascade (the
// default) deletes the app's objects first, foreground or with
// propagationPolicy=background; cascade=false leaves them.
func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request) {
	app, ok := s.readApplication(w, r, actDelete)
	if !ok {
		return
	}
	q := r.URL.Query()
	cascade := q.Get("cascade") != "false"
	finalizer := finalizerCascade
	if q.Get("propagationPolicy") == "background" {
		finalizer = finalizerCascadeBackground
	}
	var out argov1.Application
	err := s.modifyApplication(r.Context(), app, &out, func(a *argov1.Application) error {
		kept := slices.DeleteFunc(slices.Clone(a.Finalizers), func(f string) bool {
			return f == finalizerCascade || f == finalizerCascadeBackground || f == finalizerCascade+"/foreground"
		})
		if cascade {
			kept = append(kept, finalizer)
		}
		a.Finalizers = kept
		return nil
	})
	if err == nil {
		err = s.deps.Client.Delete(r.Context(), &out, client.Preconditions{UID: &out.UID})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		s.writeKubeError(w, err, "delete Application")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// syncRequest is the body of POST /api/v1/applications/{name}/sync.
type syncRequest struct {
	Revision    string                         `json:"revision,omitempty"`
	Revisions   []string                       `json:"revisions,omitempty"`
	DryRun      bool                           `json:"dryRun,omitempty"`
	Prune       bool                           `json:"prune,omitempty"`
	Strategy    *argov1.SyncStrategy           `json:"strategy,omitempty"`
	Resources   []argov1.SyncOperationResource `json:"resources,omitempty"`
	Manifests   []string                       `json:"manifests,omitempty"`
	SyncOptions *struct {
		Items []string `json:"items,omitempty"`
	} `json:"syncOptions,omitempty"`
	RetryStrategy *argov1.RetryStrategy `json:"retryStrategy,omitempty"`
}

// syncApplication is POST /api/v1/applications/{name}/sync: it records a
// sync operation for the controller, as `argocd app sync` does.
func (s *Server) syncApplication(w http.ResponseWriter, r *http.Request) {
	var req syncRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSmallBody)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, codeInvalidArgument, "request body must be JSON: "+err.Error())
		return
	}
	if len(req.Manifests) > 0 {
		// CVE-2023-50726: what is deployed comes from Git, reviewed.
		writeError(w, codeInvalidArgument, "syncing local manifests is not supported: push them to Git")
		return
	}
	app, ok := s.readApplication(w, r, actSync)
	if !ok {
		return
	}
	op := &argov1.Operation{Sync: &argov1.SyncOperation{
		Revision: req.Revision, Revisions: req.Revisions, DryRun: req.DryRun, Prune: req.Prune,
		SyncStrategy: req.Strategy, Resources: req.Resources,
	}}
	if req.SyncOptions != nil {
		op.Sync.SyncOptions = req.SyncOptions.Items
	}
	if req.RetryStrategy != nil {
		op.Retry = *req.RetryStrategy
	}
	if auto := app.Spec.SyncPolicy; auto != nil && auto.Automated != nil && req.Revision != "" && app.Spec.Source != nil &&
		req.Revision != app.Spec.Source.TargetRevision {
		writeError(w, codeFailedPrecondition, fmt.Sprintf("Cannot sync to %s: auto-sync currently set to %s", req.Revision, app.Spec.Source.TargetRevision))
		return
	}
	s.startOperation(w, r, app, op)
}

// rollbackRequest is the body of POST /api/v1/applications/{name}/rollback.
type rollbackRequest struct {
	ID     int64 `json:"id"`
	DryRun bool  `json:"dryRun,omitempty"`
	Prune  bool  `json:"prune,omitempty"`
}

// rollbackApplication is POST /api/v1/applications/{name}/rollback: a
// sync to the revision and sources of a history entry. Refused while
// automated sync would undo it at once, as in Argo CD.
func (s *Server) rollbackApplication(w http.ResponseWriter, r *http.Request) {
	var req rollbackRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSmallBody)).Decode(&req); err != nil {
		writeError(w, codeInvalidArgument, "request body must be JSON: {\"id\": <history id>}")
		return
	}
	app, ok := s.readApplication(w, r, actSync)
	if !ok {
		return
	}
	if p := app.Spec.SyncPolicy; p != nil && p.Automated != nil {
		writeError(w, codeFailedPrecondition, "rollback cannot be initiated when auto-sync is enabled")
		return
	}
	i := slices.IndexFunc(app.Status.History, func(h argov1.RevisionHistory) bool { return h.ID == req.ID })
	if i < 0 {
		writeError(w, codeNotFound, "application "+app.Name+" does not have deployment id '"+strconv.FormatInt(req.ID, 10)+"' in history")
		return
	}
	h := app.Status.History[i]
	op := &argov1.Operation{Sync: &argov1.SyncOperation{Revision: h.Revision, Revisions: h.Revisions, DryRun: req.DryRun, Prune: req.Prune}}
	if len(h.Sources) > 0 {
		op.Sync.Sources = h.Sources
	} else {
		src := h.Source
		op.Sync.Source = &src
	}
	s.startOperation(w, r, app, op)
}

// startOperation records op on app for the controller to run: refused
// while the app is being deleted, another operation is pending or
// running, or a sync window denies manual syncs.
func (s *Server) startOperation(w http.ResponseWriter, r *http.Request, app *argov1.Application, op *argov1.Operation) {
	ctx := r.Context()
	var ap argov1.AppProject
	proj := project.Default()
	if err := s.deps.Client.Get(ctx, keyOf(s.cfg.Namespace, projectOf(app)), &ap); err == nil {
		proj = project.New(&ap)
	}
	if ok, why := proj.CanSync(app.Name, app.Spec.Destination, true, time.Now()); !ok {
		writeError(w, codeFailedPrecondition, "cannot sync: "+why)
		return
	}
	op.InitiatedBy = argov1.OperationInitiator{Username: caller(ctx).Subject}
	var out argov1.Application
	err := s.modifyApplication(ctx, app, &out, func(a *argov1.Application) error {
		switch {
		case a.DeletionTimestamp != nil:
			return errFailedPrecondition("application is being deleted")
		case a.Operation != nil || (a.Status.OperationState != nil && a.Status.OperationState.Phase == argov1.OperationRunning):
			return errFailedPrecondition("another operation is already in progress")
		}
		a.Operation = op
		return nil
	})
	var pre failedPrecondition
	switch {
	case errors.As(err, &pre):
		writeError(w, codeFailedPrecondition, string(pre))
	case err != nil:
		s.writeKubeError(w, err, "record the operation")
	default:
		appForAPI(&out)
		writeJSON(w, http.StatusOK, &out)
	}
}

// failedPrecondition is a refusal that depends on the app's state.
type failedPrecondition string

func (e failedPrecondition) Error() string { return string(e) }

func errFailedPrecondition(msg string) error { return failedPrecondition(msg) }

// refreshApplication handles GET ?refresh=normal|hard: it asks the
// controller to compare the app now and answers once it has (or after a
// minute with the app as it is).
func (s *Server) refreshApplication(w http.ResponseWriter, r *http.Request, app *argov1.Application, mode string) {
	if mode != "normal" && mode != "hard" {
		writeError(w, codeInvalidArgument, "refresh must be normal or hard")
		return
	}
	ctx := r.Context()
	before := app.ResourceVersion
	patch := client.RawPatch("application/merge-patch+json",
		[]byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, argov1.AnnotationKeyRefresh, mode)))
	if err := s.deps.Client.Patch(ctx, app, patch); err != nil {
		s.writeKubeError(w, err, "request a refresh")
		return
	}
	requested := app.ResourceVersion
	wait, cancel := context.WithTimeout(ctx, refreshWait)
	defer cancel()
	for {
		// Done when the cache shows a write after the request without the
		// annotation: the controller removes it with the comparison's
		// result.
		var latest argov1.Application
		if err := s.deps.Client.Get(wait, client.ObjectKeyFromObject(app), &latest); err == nil {
			_, pending := latest.Annotations[argov1.AnnotationKeyRefresh]
			if !pending && laterVersion(latest.ResourceVersion, requested, before) {
				*app = latest
				break
			}
		}
		select {
		case <-wait.Done():
			appForAPI(app)
			writeJSON(w, http.StatusOK, app)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	appForAPI(app)
	writeJSON(w, http.StatusOK, app)
}

// laterVersion reports whether resource version v was written after
// requested: numerically when both are numbers (etcd's revisions), else
// (versions are opaque by contract) when it is neither requested nor the
// one before it.
func laterVersion(v, requested, before string) bool {
	n, err1 := strconv.ParseUint(v, 10, 64)
	r, err2 := strconv.ParseUint(requested, 10, 64)
	if err1 == nil && err2 == nil {
		return n > r
	}
	return v != requested && v != before
}

// writeKubeError answers an error of the Kubernetes API: the codes that
// say something to the caller keep their message (they never hold Secret
// values: they name objects); others are logged and answered 500.
func (s *Server) writeKubeError(w http.ResponseWriter, err error, what string) {
	switch {
	case apierrors.IsNotFound(err):
		writeError(w, codeNotFound, err.Error())
	case apierrors.IsAlreadyExists(err):
		writeError(w, codeAlreadyExists, err.Error())
	case apierrors.IsConflict(err):
		writeError(w, codeFailedPrecondition, err.Error())
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		writeError(w, codeInvalidArgument, err.Error())
	case apierrors.IsForbidden(err):
		s.deps.Logger.Error(err, what)
		writeError(w, codeInternal, what+" failed: Tether lacks the rights to do it")
	default:
		s.internalError(w, err, what)
	}
}

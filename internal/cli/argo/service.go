package argo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
)

// syncRequest is what `app sync` asks for (the body of the API's sync
// call).
type syncRequest struct {
	Revision    string                         `json:"revision,omitempty"`
	DryRun      bool                           `json:"dryRun,omitempty"`
	Prune       bool                           `json:"prune,omitempty"`
	Strategy    *argov1.SyncStrategy           `json:"strategy,omitempty"`
	Resources   []argov1.SyncOperationResource `json:"resources,omitempty"`
	SyncOptions *syncOptions                   `json:"syncOptions,omitempty"`
}

type syncOptions struct {
	Items []string `json:"items,omitempty"`
}

// managedResource is one object of an app, desired and live, as the API's
// managed-resources answers (Secrets masked).
type managedResource struct {
	Group       string `json:"group,omitempty"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name"`
	TargetState string `json:"targetState,omitempty"`
	LiveState   string `json:"liveState,omitempty"`
	// NormalizedLiveState is the live object as the comparison saw it
	// (ignored differences removed).
	NormalizedLiveState string `json:"normalizedLiveState,omitempty"`
	PredictedLiveState  string `json:"predictedLiveState,omitempty"`
	Hook                bool   `json:"hook,omitempty"`
	Modified            bool   `json:"modified"`
}

// apps is what app commands need from Tether, through the API server or
// straight from the cluster (--core, with the user's own rights).
type apps interface {
	List(ctx context.Context, selector, project string) ([]argov1.Application, error)
	Get(ctx context.Context, name, refresh string) (*argov1.Application, error)
	// Exists reports whether the app exists (a GET of a missing app is
	// refused like one the caller may not see, so it cannot tell).
	Exists(ctx context.Context, name string) (bool, error)
	Create(ctx context.Context, app *argov1.Application, upsert bool) (*argov1.Application, error)
	Update(ctx context.Context, app *argov1.Application) (*argov1.Application, error)
	Delete(ctx context.Context, name string, cascade bool, propagation string) error
	Sync(ctx context.Context, name string, req syncRequest) (*argov1.Application, error)
	Rollback(ctx context.Context, name string, id int64, prune, dryRun bool) (*argov1.Application, error)
	Terminate(ctx context.Context, name string) error
	// The views below need the server's renderer.
	ManagedResources(ctx context.Context, name string) ([]managedResource, error)
	Manifests(ctx context.Context, name, revision string) ([]string, error)
}

// newApps picks the way the connection options say.
func newApps(conn *connect.Options) (apps, error) {
	if conn.UseCore() {
		c, err := conn.Kube()
		if err != nil {
			return nil, err
		}
		return &coreApps{c: c, ns: conn.ArgoNamespace}, nil
	}
	c, err := conn.API()
	if err != nil {
		return nil, err
	}
	return &serverApps{c: c}, nil
}

// serverApps calls the API server.
type serverApps struct{ c *apiclient.Client }

func appPath(name string, parts ...string) string {
	p := "/api/v1/applications/" + apiclient.Escape(name)
	for _, x := range parts {
		p += "/" + x
	}
	return p
}

func (s *serverApps) List(ctx context.Context, selector, project string) ([]argov1.Application, error) {
	q := url.Values{}
	if selector != "" {
		q.Set("selector", selector)
	}
	if project != "" {
		q.Set("projects", project)
	}
	var list argov1.ApplicationList
	if err := s.c.Do(ctx, http.MethodGet, "/api/v1/applications?"+q.Encode(), nil, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (s *serverApps) Exists(ctx context.Context, name string) (bool, error) {
	var list argov1.ApplicationList
	if err := s.c.Do(ctx, http.MethodGet, "/api/v1/applications?name="+url.QueryEscape(name), nil, &list); err != nil {
		return false, err
	}
	return len(list.Items) > 0, nil
}

func (s *serverApps) Get(ctx context.Context, name, refresh string) (*argov1.Application, error) {
	path := appPath(name)
	if refresh != "" {
		path += "?refresh=" + refresh
	}
	var app argov1.Application
	return &app, s.c.Do(ctx, http.MethodGet, path, nil, &app)
}

func (s *serverApps) Create(ctx context.Context, app *argov1.Application, upsert bool) (*argov1.Application, error) {
	var out argov1.Application
	return &out, s.c.Do(ctx, http.MethodPost, "/api/v1/applications?upsert="+strconv.FormatBool(upsert), app, &out)
}

func (s *serverApps) Update(ctx context.Context, app *argov1.Application) (*argov1.Application, error) {
	var out argov1.Application
	return &out, s.c.Do(ctx, http.MethodPut, appPath(app.Name), app, &out)
}

func (s *serverApps) Delete(ctx context.Context, name string, cascade bool, propagation string) error {
	q := url.Values{"cascade": {strconv.FormatBool(cascade)}}
	if propagation != "" {
		q.Set("propagationPolicy", propagation)
	}
	return s.c.Do(ctx, http.MethodDelete, appPath(name)+"?"+q.Encode(), nil, nil)
}

func (s *serverApps) Sync(ctx context.Context, name string, req syncRequest) (*argov1.Application, error) {
	var out argov1.Application
	return &out, s.c.Do(ctx, http.MethodPost, appPath(name, "sync"), req, &out)
}

func (s *serverApps) Rollback(ctx context.Context, name string, id int64, prune, dryRun bool) (*argov1.Application, error) {
	var out argov1.Application
	body := map[string]any{"id": id, "prune": prune, "dryRun": dryRun}
	return &out, s.c.Do(ctx, http.MethodPost, appPath(name, "rollback"), body, &out)
}

func (s *serverApps) Terminate(ctx context.Context, name string) error {
	return s.c.Do(ctx, http.MethodDelete, appPath(name, "operation"), nil, nil)
}

func (s *serverApps) ManagedResources(ctx context.Context, name string) ([]managedResource, error) {
	var out struct {
		Items []managedResource `json:"items"`
	}
	return out.Items, s.c.Do(ctx, http.MethodGet, appPath(name, "managed-resources"), nil, &out)
}

func (s *serverApps) Manifests(ctx context.Context, name, revision string) ([]string, error) {
	path := appPath(name, "manifests")
	if revision != "" {
		path += "?revision=" + url.QueryEscape(revision)
	}
	var out struct {
		Manifests []string `json:"manifests"`
	}
	return out.Manifests, s.c.Do(ctx, http.MethodGet, path, nil, &out)
}

// coreApps reads and writes Applications on the cluster with the user's
// own Kubernetes rights; the controller checks projects before it syncs.
type coreApps struct {
	c  client.Client
	ns string
}

// errNeedsServer answers the views that need the server's renderer.
var errNeedsServer = errors.New("this command needs the API server (it renders the app): log in with `tether login` instead of --core")

func (k *coreApps) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: k.ns, Name: name}
}

func (k *coreApps) List(ctx context.Context, selector, project string) ([]argov1.Application, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	var list argov1.ApplicationList
	if err := k.c.List(ctx, &list, client.InNamespace(k.ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	if project == "" {
		return list.Items, nil
	}
	return slices.DeleteFunc(list.Items, func(a argov1.Application) bool { return a.Spec.Project != project }), nil
}

func (k *coreApps) Exists(ctx context.Context, name string) (bool, error) {
	var app argov1.Application
	err := k.c.Get(ctx, k.key(name), &app)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (k *coreApps) Get(ctx context.Context, name, refresh string) (*argov1.Application, error) {
	var app argov1.Application
	if err := k.c.Get(ctx, k.key(name), &app); err != nil {
		return nil, err
	}
	if refresh == "" {
		return &app, nil
	}
	before := app.ResourceVersion
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, argov1.AnnotationKeyRefresh, refresh)
	if err := k.c.Patch(ctx, &app, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		return nil, err
	}
	return waitRefreshed(ctx, func(ctx context.Context) (*argov1.Application, error) {
		var latest argov1.Application
		return &latest, k.c.Get(ctx, k.key(name), &latest)
	}, before, app.ResourceVersion)
}

func (k *coreApps) Create(ctx context.Context, app *argov1.Application, upsert bool) (*argov1.Application, error) {
	if app.Namespace == "" {
		app.Namespace = k.ns
	}
	err := k.c.Create(ctx, app)
	if apierrors.IsAlreadyExists(err) && upsert {
		var live argov1.Application
		if err := k.c.Get(ctx, client.ObjectKeyFromObject(app), &live); err != nil {
			return nil, err
		}
		app.ResourceVersion = live.ResourceVersion
		app.Status = live.Status
		err = k.c.Update(ctx, app)
	} else if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("application %s already exists: use --upsert to replace it", app.Name)
	}
	return app, err
}

func (k *coreApps) Update(ctx context.Context, app *argov1.Application) (*argov1.Application, error) {
	if app.Namespace == "" {
		app.Namespace = k.ns
	}
	return app, k.c.Update(ctx, app)
}

func (k *coreApps) Delete(ctx context.Context, name string, cascade bool, propagation string) error {
	var app argov1.Application
	if err := k.c.Get(ctx, k.key(name), &app); err != nil {
		return err
	}
	finalizer := "resources-finalizer.argocd.argoproj.io"
	if propagation == "background" {
		finalizer += "/background"
	}
	if cascade && !slices.Contains(app.Finalizers, finalizer) {
		patch := client.MergeFrom(app.DeepCopy())
		app.Finalizers = append(app.Finalizers, finalizer)
		if err := k.c.Patch(ctx, &app, patch); err != nil {
			return err
		}
	}
	return client.IgnoreNotFound(k.c.Delete(ctx, &app))
}

// modify applies fn to the latest app and writes it, retrying conflicts.
func (k *coreApps) modify(ctx context.Context, name string, fn func(*argov1.Application) error) (*argov1.Application, error) {
	var app argov1.Application
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k.c.Get(ctx, k.key(name), &app); err != nil {
			return err
		}
		if err := fn(&app); err != nil {
			return err
		}
		return k.c.Update(ctx, &app)
	})
	return &app, err
}

// setOperation records op unless another one is pending or running.
func setOperation(app *argov1.Application, op *argov1.Operation) error {
	switch {
	case app.DeletionTimestamp != nil:
		return errors.New("application is being deleted")
	case app.Operation != nil || (app.Status.OperationState != nil && app.Status.OperationState.Phase == argov1.OperationRunning):
		return errors.New("another operation is already in progress")
	}
	op.InitiatedBy = argov1.OperationInitiator{Username: "tether-cli"}
	app.Operation = op
	return nil
}

func (k *coreApps) Sync(ctx context.Context, name string, req syncRequest) (*argov1.Application, error) {
	op := &argov1.Operation{Sync: &argov1.SyncOperation{Revision: req.Revision, DryRun: req.DryRun, Prune: req.Prune,
		SyncStrategy: req.Strategy, Resources: req.Resources}}
	if req.SyncOptions != nil {
		op.Sync.SyncOptions = req.SyncOptions.Items
	}
	return k.modify(ctx, name, func(app *argov1.Application) error { return setOperation(app, op) })
}

func (k *coreApps) Rollback(ctx context.Context, name string, id int64, prune, dryRun bool) (*argov1.Application, error) {
	return k.modify(ctx, name, func(app *argov1.Application) error {
		if p := app.Spec.SyncPolicy; p != nil && p.Automated != nil {
			return errors.New("rollback cannot be initiated when auto-sync is enabled")
		}
		op, err := rollbackOperation(app, id, prune, dryRun)
		if err != nil {
			return err
		}
		return setOperation(app, op)
	})
}

// rollbackOperation is a sync to history entry id's revision and sources.
func rollbackOperation(app *argov1.Application, id int64, prune, dryRun bool) (*argov1.Operation, error) {
	i := slices.IndexFunc(app.Status.History, func(h argov1.RevisionHistory) bool { return h.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("application %s does not have deployment id '%d' in history", app.Name, id)
	}
	h := app.Status.History[i]
	op := &argov1.Operation{Sync: &argov1.SyncOperation{Revision: h.Revision, Revisions: h.Revisions, DryRun: dryRun, Prune: prune}}
	if len(h.Sources) > 0 {
		op.Sync.Sources = h.Sources
	} else {
		src := h.Source
		op.Sync.Source = &src
	}
	return op, nil
}

func (k *coreApps) Terminate(ctx context.Context, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var app argov1.Application
		if err := k.c.Get(ctx, k.key(name), &app); err != nil {
			return err
		}
		if err := terminate(&app); err != nil {
			return err
		}
		return k.c.Status().Update(ctx, &app)
	})
}

// terminate asks the controller to stop the running operation.
func terminate(app *argov1.Application) error {
	st := app.Status.OperationState
	if st == nil || st.Phase != argov1.OperationRunning {
		return errors.New("unable to terminate operation: no operation is in progress")
	}
	st.Phase = argov1.OperationTerminating
	return nil
}

func (k *coreApps) ManagedResources(context.Context, string) ([]managedResource, error) {
	return nil, errNeedsServer
}

func (k *coreApps) Manifests(context.Context, string, string) ([]string, error) {
	return nil, errNeedsServer
}

package server

import (
	"encoding/base64"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/server/rbac"
)

// Resources and actions of Argo CD's RBAC that the endpoints check.
const (
	resApplications = "applications"
	resProjects     = "projects"
	actGet          = "get"
	actUpdate       = "update"
)

// appQuery is what a list or stream of Applications is narrowed to: Argo
// CD's query parameters (name, projects or project, selector, repo,
// appNamespace) and Tether's search (a part of the name, any case).
type appQuery struct {
	name, repo, namespace, search string
	projects                      map[string]bool
	selector                      labels.Selector
}

func parseAppQuery(r *http.Request) (*appQuery, error) {
	q := r.URL.Query()
	query := &appQuery{name: q.Get("name"), repo: q.Get("repo"), namespace: q.Get("appNamespace"),
		search: strings.ToLower(q.Get("search")), selector: labels.Everything()}
	for _, p := range append(q["projects"], q["project"]...) {
		if query.projects == nil {
			query.projects = map[string]bool{}
		}
		query.projects[p] = true
	}
	if s := q.Get("selector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return nil, errors.New("selector: " + err.Error())
		}
		query.selector = sel
	}
	return query, nil
}

// matches reports whether app is one the query asks for.
func (q *appQuery) matches(app *argov1.Application) bool {
	switch {
	case q.name != "" && app.Name != q.name,
		q.namespace != "" && app.Namespace != q.namespace,
		q.projects != nil && !q.projects[projectOf(app)],
		!q.selector.Matches(labels.Set(app.Labels)),
		q.search != "" && !strings.Contains(strings.ToLower(app.Name), q.search):
		return false
	case q.repo != "":
		for _, src := range app.Spec.GetSources() {
			if src.RepoURL == q.repo {
				return true
			}
		}
		return false
	}
	return true
}

// projectOf is the app's project; "default" when the spec names none.
func projectOf(app *argov1.Application) string {
	if app.Spec.Project == "" {
		return "default"
	}
	return app.Spec.Project
}

// appObject names app in RBAC: "<project>/<name>" in the control-plane
// namespace, "<project>/<namespace>/<name>" elsewhere.
func (s *Server) appObject(app *argov1.Application) string {
	if app.Namespace == s.cfg.Namespace {
		return projectOf(app) + "/" + app.Name
	}
	return projectOf(app) + "/" + app.Namespace + "/" + app.Name
}

// applicationList is the list's answer, Kubernetes-shaped as Argo CD's.
type applicationList struct {
	Metadata metav1.ListMeta      `json:"metadata"`
	Items    []argov1.Application `json:"items"`
}

// maxPageSize bounds one page of a list.
const maxPageSize = 10000

// listApplications is GET /api/v1/applications: the caller's visible
// Applications that match the query, sorted by name (then namespace).
// Without limit the whole list is one page, as in Argo CD; with
// limit=N, pages of N follow each other through metadata.continue.
func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) {
	query, err := parseAppQuery(r)
	if err != nil {
		writeError(w, codeInvalidArgument, err.Error())
		return
	}
	limit, after, err := parsePage(r)
	if err != nil {
		writeError(w, codeInvalidArgument, err.Error())
		return
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	// The cache's own objects are read without a copy (10,000 apps would
	// be copied for every list); only the page's are copied below.
	var apps argov1.ApplicationList
	if err := s.deps.Client.List(r.Context(), &apps, client.UnsafeDisableDeepCopy); err != nil {
		s.internalError(w, err, "list Applications")
		return
	}
	sub := subject(caller(r.Context()))
	visible := make([]*argov1.Application, 0, len(apps.Items))
	for i := range apps.Items {
		app := &apps.Items[i]
		if s.served(app.Namespace) && query.matches(app) && policy.Allow(sub, resApplications, actGet, s.appObject(app)) {
			visible = append(visible, app)
		}
	}
	sort.Slice(visible, func(i, j int) bool { return appKey(visible[i]) < appKey(visible[j]) })
	out := applicationList{Metadata: metav1.ListMeta{ResourceVersion: apps.ResourceVersion}}
	start := 0
	if after != "" {
		start = sort.Search(len(visible), func(i int) bool { return appKey(visible[i]) > after })
	}
	end := len(visible)
	if limit > 0 && start+limit < end {
		end = start + limit
		out.Metadata.Continue = base64.RawURLEncoding.EncodeToString([]byte(appKey(visible[end-1])))
	}
	out.Items = make([]argov1.Application, 0, end-start)
	for _, app := range visible[start:end] {
		// A shallow copy: appForAPI sets fields of the copy only.
		item := *app
		appForAPI(&item)
		out.Items = append(out.Items, item)
	}
	writeJSON(w, http.StatusOK, out)
}

// appKey orders apps by name, then namespace.
func appKey(app *argov1.Application) string { return app.Name + "\x00" + app.Namespace }

// parsePage reads limit and continue.
func parsePage(r *http.Request) (limit int, after string, err error) {
	q := r.URL.Query()
	if l := q.Get("limit"); l != "" {
		limit, err = strconv.Atoi(l)
		if err != nil || limit < 0 || limit > maxPageSize {
			return 0, "", errors.New("limit must be a number from 0 to 10000")
		}
	}
	if c := q.Get("continue"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return 0, "", errors.New("continue: not a token this server gave")
		}
		after = string(raw)
	}
	return limit, after, nil
}

// appForAPI readies an app for an answer: its kind is set, and its
// managedFields, which only the API server needs, are left out.
func appForAPI(app *argov1.Application) {
	app.APIVersion, app.Kind = argov1.GroupVersion.String(), "Application"
	app.ManagedFields = nil
}

// getApplication is GET /api/v1/applications/{name}. As in Argo CD, an app
// the caller may not see and an app that does not exist get the same
// answer: 403, or 404 when the caller named a project it may read.
func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) {
	app, ok := s.readApplication(w, r, actGet)
	if !ok {
		return
	}
	if mode := r.URL.Query().Get("refresh"); mode != "" {
		s.refreshApplication(w, r, app, mode)
		return
	}
	appForAPI(app)
	writeJSON(w, http.StatusOK, app)
}

// readApplication reads the request's app and checks that the caller may
// take action on it; it has answered when ok is false.
func (s *Server) readApplication(w http.ResponseWriter, r *http.Request, action string) (*argov1.Application, bool) {
	name := r.PathValue("name")
	ns := r.URL.Query().Get("appNamespace")
	if ns == "" {
		ns = s.cfg.Namespace
	}
	project := r.URL.Query().Get("project")
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return nil, false
	}
	sub := subject(caller(r.Context()))
	if project != "" {
		probe := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: argov1.ApplicationSpec{Project: project}}
		if !policy.Allow(sub, resApplications, action, s.appObject(probe)) {
			writeError(w, codePermissionDenied, errPermissionDenied)
			return nil, false
		}
	}
	// Reads come from the cache; a change, and a read the cache has no
	// answer for yet, read around it, so that a script's "create, then
	// get" or "create, then sync" finds what it has just created.
	key := client.ObjectKey{Namespace: ns, Name: name}
	var app argov1.Application
	if action == actGet {
		err = s.deps.Client.Get(r.Context(), key, &app)
	}
	if action != actGet || apierrors.IsNotFound(err) {
		err = s.deps.APIReader.Get(r.Context(), key, &app)
	}
	found := err == nil && s.served(ns)
	if err != nil && !apierrors.IsNotFound(err) {
		s.internalError(w, err, "read Application")
		return nil, false
	}
	allowed := found && policy.Allow(sub, resApplications, action, s.appObject(&app))
	switch {
	case project != "" && (!found || !allowed || projectOf(&app) != project):
		writeError(w, codeNotFound, `applications.argoproj.io "`+name+`" not found`)
		return nil, false
	case !found || !allowed:
		writeError(w, codePermissionDenied, errPermissionDenied)
		return nil, false
	}
	return &app, true
}

// internalError logs err and answers 500 without its detail.
func (s *Server) internalError(w http.ResponseWriter, err error, what string) {
	s.deps.Logger.Error(err, what)
	writeError(w, codeInternal, what+" failed")
}

// allows is a shorthand for one check against the current policy.
func allows(policy *rbac.Policy, r *http.Request, resource, action, object string) bool {
	return policy.Allow(subject(caller(r.Context())), resource, action, object)
}

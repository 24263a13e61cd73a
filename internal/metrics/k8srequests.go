package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// appKey carries the Application a request is made for.
type appKey struct{}

// appRequest labels the Kubernetes requests made for one Application.
type appRequest struct{ namespace, name, project, server string }

// WithApp returns ctx marked as working for app: the Kubernetes requests
// made with it are counted in argocd_app_k8s_request_total under app's
// name (when the client's transport is wrapped with WrapTransport).
func WithApp(ctx context.Context, app *argov1.Application) context.Context {
	server := app.Spec.Destination.Server
	if server == "" {
		server = app.Spec.Destination.Name
	}
	return context.WithValue(ctx, appKey{}, appRequest{namespace: app.Namespace, name: app.Name, project: app.Spec.Project, server: server})
}

// WrapTransport wraps a Kubernetes client's transport so that requests
// made with a context from WithApp are counted; others pass untouched.
// It fits rest.Config.Wrap. A nil Recorder wraps nothing.
func (r *Recorder) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	if r == nil {
		return rt
	}
	return &countingTransport{next: rt, r: r}
}

type countingTransport struct {
	next http.RoundTripper
	r    *Recorder
}

// RoundTrip counts req when its context names an Application.
func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	app, ok := req.Context().Value(appKey{}).(appRequest)
	if !ok {
		return t.next.RoundTrip(req)
	}
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	verb, resource := describeRequest(req)
	dryRun := "false"
	if req.URL.Query().Get("dryRun") != "" {
		dryRun = "true"
	}
	t.r.k8sRequests.WithLabelValues(app.server, verb, resource, code, app.name, app.namespace, app.project, dryRun).Inc()
	return resp, err
}

// describeRequest returns the Kubernetes verb of req (get, list, watch,
// create, update, patch, delete, deletecollection) and the resource of
// its path (deployments, configmaps, ...; "" for discovery).
func describeRequest(req *http.Request) (verb, resource string) {
	path := strings.Trim(req.URL.Path, "/")
	var segs []string
	switch {
	case strings.HasPrefix(path, "api/"):
		segs = strings.Split(path, "/")[2:] // api/v1/...
	case strings.HasPrefix(path, "apis/"):
		segs = strings.Split(path, "/")
		segs = segs[min(3, len(segs)):] // apis/group/version/...
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		segs = segs[2:]
	}
	named := len(segs) > 1
	if len(segs) > 0 {
		resource = segs[0]
	}
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(req.Method)
	}
	return verb, resource
}

package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestDescribeRequest(t *testing.T) {
	for _, tc := range []struct{ method, url, verb, resource string }{
		{"GET", "/api/v1/namespaces/web/configmaps/settings", "get", "configmaps"},
		{"GET", "/api/v1/namespaces/web/configmaps", "list", "configmaps"},
		{"GET", "/api/v1/namespaces/web/configmaps?watch=true", "watch", "configmaps"},
		{"GET", "/api/v1/namespaces/web", "get", "namespaces"},
		{"GET", "/api/v1/namespaces", "list", "namespaces"},
		{"PATCH", "/apis/apps/v1/namespaces/web/deployments/api?dryRun=All", "patch", "deployments"},
		{"PATCH", "/apis/apps/v1/namespaces/web/deployments/api/status", "patch", "deployments"},
		{"POST", "/apis/batch/v1/namespaces/web/jobs", "create", "jobs"},
		{"PUT", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.x.dev", "update", "customresourcedefinitions"},
		{"DELETE", "/api/v1/namespaces/web/pods/p-1", "delete", "pods"},
		{"DELETE", "/api/v1/namespaces/web/pods", "deletecollection", "pods"},
		{"GET", "/apis/apps/v1", "list", ""},
		{"GET", "/version", "list", ""},
	} {
		req := httptest.NewRequest(tc.method, tc.url, nil)
		verb, resource := describeRequest(req)
		if verb != tc.verb || resource != tc.resource {
			t.Errorf("%s %s: %s %q, want %s %q", tc.method, tc.url, verb, resource, tc.verb, tc.resource)
		}
	}
}

// TestWrapTransportCountsOnlyAnAppsRequests: a request made with a
// context from WithApp is counted under the app, with its verb, resource,
// response code and dry run; one made without is not counted.
func TestWrapTransportCountsOnlyAnAppsRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	r := NewRecorder()
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: r.WrapTransport(http.DefaultTransport)}
	app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "web"},
		Spec: argov1.ApplicationSpec{Project: "prod", Destination: argov1.ApplicationDestination{Name: "east"}}}
	do := func(ctx context.Context, method, path string) {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	ctx := WithApp(context.Background(), app)
	do(ctx, "PATCH", "/api/v1/namespaces/web/configmaps/a?dryRun=All")
	do(ctx, "PATCH", "/api/v1/namespaces/web/configmaps/a?dryRun=All")
	do(ctx, "GET", "/api/v1/namespaces/web/configmaps/missing")
	do(context.Background(), "GET", "/api/v1/namespaces/web/configmaps/a")

	want := `
# HELP argocd_app_k8s_request_total Number of Kubernetes requests made for an Application, by verb, resource, response code and dry run.
# TYPE argocd_app_k8s_request_total counter
argocd_app_k8s_request_total{dry_run="false",name="web",namespace="argocd",project="prod",resource_kind="configmaps",response_code="404",server="east",verb="get"} 1
argocd_app_k8s_request_total{dry_run="true",name="web",namespace="argocd",project="prod",resource_kind="configmaps",response_code="200",server="east",verb="patch"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "argocd_app_k8s_request_total"); err != nil {
		t.Error(err)
	}
	var nilRecorder *Recorder
	if rt := nilRecorder.WrapTransport(http.DefaultTransport); rt != http.DefaultTransport {
		t.Error("a nil Recorder wrapped the transport")
	}
}

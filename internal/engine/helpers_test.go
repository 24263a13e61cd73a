package engine

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
)

const testManager = "tether-engine-test"

// needCluster skips the test without a cluster (go test -short).
func needCluster(t *testing.T) {
	t.Helper()
	if env == nil {
		t.Skip("no cluster with -short")
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// requests records the API requests of one client.
type requests struct {
	mu     sync.Mutex
	writes []string // non-GET requests that are not dry runs
	dryRun int
	gets   int
}

// Counts returns the GETs and dry runs so far.
func (r *requests) Counts() (gets, dryRuns int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets, r.dryRun
}

// Writes returns the write requests so far, as "METHOD path".
func (r *requests) Writes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

// Reset forgets the requests so far.
func (r *requests) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes, r.dryRun, r.gets = nil, 0, 0
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// counted returns a copy of cfg whose requests are recorded.
func counted(cfg *rest.Config) (*rest.Config, *requests) {
	reqs := &requests{}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet {
				reqs.mu.Lock()
				reqs.gets++
				reqs.mu.Unlock()
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				reqs.mu.Lock()
				if r.URL.Query().Has("dryRun") {
					reqs.dryRun++
				} else {
					reqs.writes = append(reqs.writes, r.Method+" "+r.URL.Path)
				}
				reqs.mu.Unlock()
			}
			return rt.RoundTrip(r)
		})
	})
	return cfg, reqs
}

// ownerNamed is an owner labelled as Flux labels a Kustomization's objects.
func ownerNamed(name string) Owner {
	return Owner{Name: name, Namespace: "flux-system", FieldManager: testManager, Labels: map[string]string{
		"kustomize.toolkit.fluxcd.io/name":      name,
		"kustomize.toolkit.fluxcd.io/namespace": "flux-system",
	}}
}

// newEngine returns an engine acting as cfg's user, and its request log.
func newEngine(t *testing.T, cfg *rest.Config, owner Owner, opts ...Option) (*Engine, *requests) {
	t.Helper()
	cfg, reqs := counted(cfg)
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(c, owner, append([]Option{WithPollInterval(250 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e, reqs
}

// admin is a client for checking the cluster from outside the engine.
func admin(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// load reads testdata files into inputs whose Source is the file's path.
func load(t *testing.T, files ...string) []Input {
	t.Helper()
	var in []Input
	for _, f := range files {
		path := filepath.Join("testdata", f)
		objs, err := testenv.ReadObjectFiles(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			in = append(in, Input{Obj: o, Source: path})
		}
	}
	return in
}

// namespace creates a namespace for one test and deletes it afterwards.
func namespace(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := admin(t).Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin(t).Delete(context.Background(), ns) })
	return name
}

// actions maps each change's subject to its action.
func actions(changes []Change) map[string]Action {
	m := map[string]Action{}
	for _, c := range changes {
		m[c.Subject] = c.Action
	}
	return m
}

// get reads an object as the admin; nil when it does not exist.
func get(t *testing.T, apiVersion, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := admin(t).Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return u
}

// find returns the input for kind and name.
func find(t *testing.T, in []Input, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, i := range in {
		if i.Obj.GetKind() == kind && i.Obj.GetName() == name {
			return i.Obj
		}
	}
	t.Fatalf("no %s %s in inputs", kind, name)
	return nil
}

// mustContain fails unless s contains every part.
func mustContain(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q does not contain %q", s, p)
		}
	}
}

func set(t *testing.T, u *unstructured.Unstructured, value any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		t.Fatal(fmt.Errorf("set %v: %w", path, err))
	}
}

// typed is an object of any kind with only its identity, for deletes.
func typed(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// grant lets user do anything with ConfigMaps and Deployments in ns.
func grant(t *testing.T, ns, user string) {
	t.Helper()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "engine-" + user, Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"", "apps"}, Resources: []string{"configmaps", "deployments"}, Verbs: []string{"*"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "engine-" + user, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := admin(t).Create(context.Background(), o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

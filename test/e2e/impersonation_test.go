package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// impersonationFixture is the cluster side of TestApplicationSyncImpersonation:
// three destination namespaces; in imp-a a ServiceAccount that may manage
// ConfigMaps there, in imp-b one with no rights at all; argocd-cm with
// sync impersonation on; and a project that names imp-a's account for
// imp-a and imp-b's for imp-b (as "namespace:name"), and none for imp-c.
const impersonationFixture = `apiVersion: v1
kind: Namespace
metadata: {name: imp-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: imp-b}
---
apiVersion: v1
kind: Namespace
metadata: {name: imp-c}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: imp-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmaps, namespace: imp-a}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-configmaps, namespace: imp-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmaps}
subjects: [{kind: ServiceAccount, name: deployer, namespace: imp-a}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: idle, namespace: imp-b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data: {application.sync.impersonation.enabled: "true"}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: imp, namespace: argocd}
spec:
  sourceRepos: ['*']
  destinations: [{server: https://kubernetes.default.svc, namespace: 'imp-*'}]
  destinationServiceAccounts:
  - {server: https://kubernetes.default.svc, namespace: imp-a, defaultServiceAccount: deployer}
  - {server: '*', namespace: imp-b, defaultServiceAccount: 'imp-b:idle'}
`

// impersonationApp is an automated app of project imp deploying folder
// name of the impersonation repository to namespace ns.
func impersonationApp(name, ns string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: imp
  source: {repoURL: https://git.example.com/impersonation.git, targetRevision: HEAD, path: %s}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy: {automated: {}}
`, name, name, ns)
}

// TestApplicationSyncImpersonation: with argocd-cm's
// application.sync.impersonation.enabled, a sync writes as the service
// account its project's destinationServiceAccounts name for the
// destination (the audit log shows every write to the app's ConfigMap,
// dry runs included, impersonated, and no read of ConfigMaps as it); an
// account without the rights fails the sync with the API server's
// Forbidden and nothing is written; a destination the project names no
// account for fails the sync with a message naming the project and the
// destination, nothing written; with the setting off, that same app syncs
// with Tether's own rights, as before.
func TestApplicationSyncImpersonation(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "impersonation")
	configMap := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: b}\n"
	}
	repo.Commit(t, "master", map[string]string{
		"imp-ok/cm.yaml":      configMap("imp-ok"),
		"imp-denied/cm.yaml":  configMap("imp-denied"),
		"imp-nomatch/cm.yaml": configMap("imp-nomatch"),
	}, "impersonation")
	fixture := applyYAML(t, impersonationFixture)
	t.Cleanup(func() {
		for _, o := range fixture {
			_ = c.Delete(context.Background(), o)
		}
	})
	startTetherOn(t, srv)
	apps := map[string]string{"imp-ok": "imp-a", "imp-denied": "imp-b", "imp-nomatch": "imp-c"}
	for name, ns := range apps {
		applyYAML(t, impersonationApp(name, ns))
		t.Cleanup(func() { deleteApp(t, c, "argocd", name) })
	}
	audit := cluster(t)

	t.Run("the project's service account writes, Tether reads", func(t *testing.T) {
		waitApp(t, c, "argocd", "imp-ok", "", "Synced", "Healthy", 90*time.Second)
		if err := c.Get(ctx, types.NamespacedName{Namespace: "imp-a", Name: "imp-ok"}, &corev1.ConfigMap{}); err != nil {
			t.Fatal(err)
		}
		const deployer = "system:serviceaccount:imp-a:deployer"
		events := tetherRequests(t, audit, "/api/v1/namespaces/imp-a/configmaps/imp-ok")
		writes := 0
		for _, e := range events {
			as := impersonated(e)
			switch {
			case isWriteVerb(e.Verb) && as != deployer:
				t.Errorf("%s %s as %q, want %s", e.Verb, e.RequestURI, as, deployer)
			case !isWriteVerb(e.Verb) && as != "":
				t.Errorf("read %s %s impersonated %s: Tether reads the live state with its own rights", e.Verb, e.RequestURI, as)
			case e.IsWrite():
				writes++
			}
		}
		if writes == 0 {
			t.Errorf("no write of ConfigMap imp-a/imp-ok in the audit log:\n%s", describe(events))
		}
		all, err := audit.AuditEvents()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if impersonated(e) == deployer && strings.Contains(e.RequestURI, "/configmaps") && !isWriteVerb(e.Verb) {
				t.Errorf("ConfigMaps read as %s: %s %s", deployer, e.Verb, e.RequestURI)
			}
		}
	})

	t.Run("an account without the rights: Forbidden, nothing written", func(t *testing.T) {
		st := waitOperation(t, c, "imp-denied", argov1.OperationFailed, `forbidden: User "system:serviceaccount:imp-b:idle" cannot patch resource "configmaps"`)
		t.Logf("refused: %s", st.Message)
		assertNothingWritten(t, c, audit, "imp-b", "imp-denied")
		refusedAs := false
		for _, e := range tetherRequests(t, audit, "/api/v1/namespaces/imp-b/configmaps/imp-denied") {
			if impersonated(e) == "system:serviceaccount:imp-b:idle" && e.ResponseStatus.Code == 403 {
				refusedAs = true
			}
		}
		if !refusedAs {
			t.Error("the audit log shows no request refused to system:serviceaccount:imp-b:idle")
		}
	})

	t.Run("no service account for the destination: refused, nothing written", func(t *testing.T) {
		want := "project 'imp' names no service account for destination server 'https://kubernetes.default.svc' and namespace 'imp-c'"
		st := waitOperation(t, c, "imp-nomatch", argov1.OperationFailed, want)
		t.Logf("refused: %s", st.Message)
		assertNothingWritten(t, c, audit, "imp-c", "imp-nomatch")
		for _, e := range tetherRequests(t, audit, "/api/v1/namespaces/imp-c/configmaps/imp-nomatch") {
			if isWriteVerb(e.Verb) {
				t.Errorf("a refused destination was asked to write, even as a dry run: %s %s", e.Verb, e.RequestURI)
			}
		}
	})

	t.Run("with the setting off, syncs use Tether's rights as before", func(t *testing.T) {
		applyYAML(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data: {application.sync.impersonation.enabled: "false"}
`)
		// argocd-cm is read again within seconds: sync until a sync
		// runs without impersonation.
		var asked time.Time
		eventually(t, 90*time.Second, "imp-nomatch synced", func(ctx context.Context) error {
			var app argov1.Application
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "imp-nomatch"}, &app); err != nil {
				return err
			}
			st := app.Status.OperationState
			if st != nil && st.Phase == argov1.OperationSucceeded {
				return nil
			}
			if app.Operation == nil && (st == nil || st.Phase != argov1.OperationRunning) && time.Since(asked) > 2*time.Second {
				app.Operation = &argov1.Operation{Sync: &argov1.SyncOperation{}, InitiatedBy: argov1.OperationInitiator{Username: "e2e"}}
				if err := c.Update(ctx, &app); err == nil {
					asked = time.Now()
				}
			}
			return fmt.Errorf("operation %s", operationSummary(st))
		})
		if err := c.Get(ctx, types.NamespacedName{Namespace: "imp-c", Name: "imp-nomatch"}, &corev1.ConfigMap{}); err != nil {
			t.Fatal(err)
		}
		writes := 0
		for _, e := range tetherRequests(t, audit, "/api/v1/namespaces/imp-c/configmaps/imp-nomatch") {
			if e.IsWrite() {
				writes++
				if as := impersonated(e); as != "" {
					t.Errorf("%s %s impersonated %s with the setting off", e.Verb, e.RequestURI, as)
				}
			}
		}
		if writes == 0 {
			t.Error("no write of ConfigMap imp-c/imp-nomatch in the audit log")
		}
	})
}

// waitOperation waits until argocd/name's operation has phase and a
// message holding part, and returns its state.
func waitOperation(t *testing.T, c client.Client, name string, phase argov1.OperationPhase, part string) *argov1.OperationState {
	t.Helper()
	var st *argov1.OperationState
	eventually(t, 90*time.Second, name+" "+string(phase), func(ctx context.Context) error {
		var app argov1.Application
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, &app); err != nil {
			return err
		}
		st = app.Status.OperationState
		if st == nil || st.Phase != phase || !strings.Contains(st.Message, part) {
			return fmt.Errorf("operation %s; want %s with %q", operationSummary(st), phase, part)
		}
		return nil
	})
	return st
}

// assertNothingWritten checks that ConfigMap ns/name does not exist and
// that Tether made no write request (dry runs aside) to it.
func assertNothingWritten(t *testing.T, c client.Client, env *testenv.Env, ns, name string) {
	t.Helper()
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap %s/%s written: %v", ns, name, err)
	}
	for _, e := range tetherRequests(t, env, "/api/v1/namespaces/"+ns+"/configmaps/"+name) {
		if e.IsWrite() {
			t.Errorf("written: %s %s (HTTP %d)", e.Verb, e.RequestURI, e.ResponseStatus.Code)
		}
	}
}

// tetherRequests are the audit log's requests by Tether's user (admin,
// as the tests' own client, which does not touch these objects) whose
// path is path, optionally followed by a query.
func tetherRequests(t *testing.T, env *testenv.Env, path string) []testenv.AuditEvent {
	t.Helper()
	events, err := env.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	var out []testenv.AuditEvent
	for _, e := range events {
		p, _, _ := strings.Cut(e.RequestURI, "?")
		if e.User.Username == "admin" && p == path {
			out = append(out, e)
		}
	}
	return out
}

// impersonated is the user e impersonated; "" for none.
func impersonated(e testenv.AuditEvent) string {
	if e.ImpersonatedUser == nil {
		return ""
	}
	return e.ImpersonatedUser.Username
}

func isWriteVerb(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

func describe(events []testenv.AuditEvent) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s %s as %q: %d\n", e.Verb, e.RequestURI, impersonated(e), e.ResponseStatus.Code)
	}
	return b.String()
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/oidcserver"
)

// apiClient calls Tether's API over HTTPS (the server's self-signed
// certificate is accepted: the test checks the connection is TLS).
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newAPIClient(t *testing.T, base string) *apiClient {
	return &apiClient{t: t, base: base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the server's self-signed certificate
	}}}
}

// do sends a request with token (none when empty) and returns the status
// and body.
func (c *apiClient) do(method, path, token string, body any) (int, []byte, http.Header) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.TLS == nil {
		c.t.Fatalf("%s %s: not served over TLS", method, path)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// expect sends a request and fails the test unless it answers want.
func (c *apiClient) expect(method, path, token string, body any, want int) []byte {
	c.t.Helper()
	status, out, _ := c.do(method, path, token, body)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, out, want)
	}
	return out
}

// projectToken issues a token for role of project as admin.
func (c *apiClient) projectToken(admin, project, role string) string {
	c.t.Helper()
	var out struct{ Token string }
	if err := json.Unmarshal(c.expect("POST", "/api/v1/projects/"+project+"/roles/"+role+"/token", admin, map[string]any{}, http.StatusOK), &out); err != nil || out.Token == "" {
		c.t.Fatalf("project token: %v", err)
	}
	return out.Token
}

// adminSession waits for tether's API and for the admin password it
// generates, and returns a client of the API and an admin token.
func adminSession(t *testing.T, c client.Client, tether *testenv.Tether) (*apiClient, string) {
	t.Helper()
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	api := newAPIClient(t, base)
	var initial corev1.Secret
	eventually(t, 30*time.Second, "argocd-initial-admin-secret", func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-initial-admin-secret"}, &initial)
	})
	return api, api.login("admin", string(initial.Data["password"]))
}

// login returns a token for user, failing the test otherwise.
func (c *apiClient) login(user, password string) string {
	c.t.Helper()
	status, body, _ := c.do("POST", "/api/v1/session", "", map[string]string{"username": user, "password": password})
	if status != http.StatusOK {
		c.t.Fatalf("login %s: %d %s", user, status, body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		c.t.Fatalf("login %s: %s", user, body)
	}
	return out.Token
}

// apiFixture writes the settings the API test uses into argocd's
// namespace and removes them afterwards: a local account carol
// (role:readonly) and ci (apiKey only), with carol's password.
func apiFixture(t *testing.T, c client.Client) {
	ctx := context.Background()
	hash, err := bcrypt.GenerateFromPassword([]byte("carol-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-rbac-cm", Namespace: "argocd"},
			Data: map[string]string{"policy.csv": "g, carol, role:readonly\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: "argocd"},
			Data: map[string][]byte{"accounts.carol.password": hash}},
	}
	// Every `tether run` makes argocd-secret and argocd-initial-admin-secret
	// at start (its API server's bootstrap): start from none.
	for _, o := range append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-initial-admin-secret", Namespace: "argocd"}}) {
		if err := c.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("delete %s: %v", o.GetName(), err)
		}
	}
	for _, o := range objs {
		eventually(t, 30*time.Second, "create "+o.GetName(), func(ctx context.Context) error {
			o.SetResourceVersion("")
			return c.Create(ctx, o)
		})
	}
	var cm corev1.ConfigMap
	err = c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-cm"}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}, Data: map[string]string{"accounts.carol": "login", "accounts.ci": "apiKey"}}
		if err := c.Create(ctx, &cm); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &cm)
	case err != nil:
		t.Fatal(err)
	default:
		patch := client.MergeFrom(cm.DeepCopy())
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data["accounts.carol"], cm.Data["accounts.ci"] = "login", "apiKey"
		if err := c.Patch(ctx, &cm, patch); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Patch(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: "argocd"}},
				client.RawPatch("application/merge-patch+json", []byte(`{"data":{"accounts.carol":null,"accounts.ci":null}}`)))
		})
	}
	initial := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-initial-admin-secret", Namespace: "argocd"}}
	objs = append(objs, initial)
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(ctx, o)
		}
	})
}

// TestAPIServerLoginAndRBAC runs `tether run` with its API over HTTPS and
// checks logins and rights as Argo CD users expect: the generated admin
// password works, a role:readonly account reads and cannot change, the
// seed's 03 project role (through a project token) reads production's apps
// only, and no one without a valid token gets anything.
func TestAPIServerLoginAndRBAC(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	applier := newApplier(t)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "03-argo-appproject-production.yaml")) {
		checkAppliedAsWritten(t, applier, o)
	}
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: staging, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
`)
	placeholderApps(t, map[string]string{"api-prod-web": "production", "api-staging-web": "staging"})
	t.Cleanup(func() {
		for _, name := range []string{"api-prod-web", "api-staging-web"} {
			_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
		for _, name := range []string{"production", "staging"} {
			_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
	})

	tether := startTether(t)
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("API served at %s, want HTTPS by default", base)
	}
	api := newAPIClient(t, base)

	// The first start made the admin password the way Argo CD does.
	var initial, secret corev1.Secret
	eventually(t, 30*time.Second, "argocd-initial-admin-secret", func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-initial-admin-secret"}, &initial)
	})
	if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "argocd-secret"}, &secret); err != nil {
		t.Fatal(err)
	}
	adminPassword := string(initial.Data["password"])
	if err := bcrypt.CompareHashAndPassword(secret.Data["admin.password"], []byte(adminPassword)); err != nil {
		t.Fatalf("argocd-secret admin.password is not the bcrypt hash of the initial password: %v", err)
	}
	if len(secret.Data["server.secretkey"]) == 0 || len(secret.Data["admin.passwordMtime"]) == 0 {
		t.Fatal("argocd-secret lacks server.secretkey or admin.passwordMtime")
	}

	// Logins.
	status, body, header := api.do("POST", "/api/v1/session", "", map[string]string{"username": "admin", "password": adminPassword})
	if status != http.StatusOK {
		t.Fatalf("admin login: %d %s", status, body)
	}
	if cookie := header.Get("Set-Cookie"); !strings.HasPrefix(cookie, "argocd.token=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "Secure") {
		t.Errorf("login cookie = %q, want argocd.token, HttpOnly, Secure", cookie)
	}
	admin := api.login("admin", adminPassword)
	carol := api.login("carol", "carol-password")
	status, body, _ = api.do("POST", "/api/v1/projects/production/roles/app-developer/token", admin, map[string]any{"expiresIn": 3600})
	if status != http.StatusOK {
		t.Fatalf("issue project token: %d %s", status, body)
	}
	var issued struct{ Token string }
	if err := json.Unmarshal(body, &issued); err != nil {
		t.Fatal(err)
	}
	projToken := issued.Token
	key := secret.Data["server.secretkey"]
	forge := func(k []byte, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now().Unix()
	callers := map[string]string{
		"admin":     admin,
		"readonly":  carol,
		"projtoken": projToken,
		"anonymous": "",
		// CVE-2022-29165: claims are not trusted without a valid signature.
		"forged":   forge([]byte("not-the-key"), jwt.MapClaims{"iss": "argocd", "sub": "admin:login", "iat": now, "exp": now + 60, "jti": "x"}),
		"expired":  forge(key, jwt.MapClaims{"iss": "argocd", "sub": "admin:login", "iat": now - 7200, "exp": now - 3600, "jti": "x"}),
		"algnone":  unsignedToken(t, jwt.MapClaims{"iss": "argocd", "sub": "admin:login", "iat": now, "jti": "x"}),
		"unlisted": forge(key, jwt.MapClaims{"iss": "argocd", "sub": "proj:production:app-developer", "iat": now, "jti": "never-issued"}),
	}

	// A member of production-app-developers, through SSO's groups claim.
	op := oidcserver.New(t, oidcserver.Options{
		Clients: []oidcserver.Client{{ID: "tether", Secret: ssoClientSecret, RedirectURIs: []string{base + "/auth/callback"}}},
		Users:   []oidcserver.User{{Subject: "dana", Password: "dana-password", Email: "dana@example.com", Groups: []string{"production-app-developers"}}},
	})
	ssoFixture(t, c, op, base)
	idCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ssoToken, err := op.IDToken(idCtx, "tether", "dana")
	if err != nil {
		t.Fatal(err)
	}
	callers["ssogroup"] = ssoToken
	eventually(t, 30*time.Second, "the SSO token accepted", func(context.Context) error {
		if _, body, _ := api.do("GET", "/api/v1/session/userinfo", ssoToken, nil); !strings.Contains(string(body), "production-app-developers") {
			return fmt.Errorf("userinfo %s", body)
		}
		return nil
	})

	// The matrix: every caller against every endpoint and verb; the
	// expected status (401 for callers not listed: anonymous, forged,
	// expired, alg none, an unrecorded project token).
	type row struct {
		method, path string
		body         any
		want         map[string]int
	}
	ok, denied, unauth, missing := http.StatusOK, http.StatusForbidden, http.StatusUnauthorized, http.StatusNotFound
	// callers: admin, role:readonly, the production project token, the
	// SSO member of production-app-developers (the same role as the token).
	as := func(admin, readonly, project int) map[string]int {
		return map[string]int{"admin": admin, "readonly": readonly, "projtoken": project, "ssogroup": project}
	}
	// No controller can render the test's apps (their repository does not
	// exist): an allowed inspection answers 503 with the reason.
	const cannotRender = http.StatusServiceUnavailable
	stagingSpec := map[string]any{"project": "staging",
		"source":      map[string]any{"repoURL": "https://github.com/example/production-apps.git", "targetRevision": "HEAD", "path": "web"},
		"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "production"}}
	rows := []row{
		{"GET", "/api/v1/applications", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/applications/api-prod-web", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/applications/api-staging-web", nil, as(ok, ok, denied)},
		{"GET", "/api/v1/applications/does-not-exist", nil, as(denied, denied, denied)},
		{"GET", "/api/v1/applications/api-staging-web?project=production", nil, as(missing, missing, missing)},
		{"GET", "/api/v1/applications/api-staging-web?project=staging", nil, as(ok, ok, denied)},
		{"POST", "/api/v1/applications", map[string]any{"metadata": map[string]any{"name": "api-matrix"}, "spec": stagingSpec}, as(ok, denied, denied)},
		{"PUT", "/api/v1/applications/api-matrix", map[string]any{"metadata": map[string]any{"name": "api-matrix"}, "spec": stagingSpec}, as(ok, denied, denied)},
		{"POST", "/api/v1/applications/api-prod-web/sync", map[string]any{"dryRun": true}, as(ok, denied, denied)},
		{"POST", "/api/v1/applications/api-staging-web/rollback", map[string]any{"id": 7}, as(missing, denied, denied)},
		// Terminating needs the sync right; nothing runs here (the apps
		// cannot render), so an allowed caller is told so.
		{"DELETE", "/api/v1/applications/api-prod-web/operation", nil, as(http.StatusBadRequest, denied, denied)},
		{"DELETE", "/api/v1/applications/api-staging-web/operation", nil, as(http.StatusBadRequest, denied, denied)},
		{"GET", "/api/v1/applications/api-prod-web/managed-resources", nil, as(cannotRender, cannotRender, cannotRender)},
		{"GET", "/api/v1/applications/api-staging-web/managed-resources", nil, as(cannotRender, cannotRender, denied)},
		{"GET", "/api/v1/applications/api-prod-web/manifests", nil, as(cannotRender, cannotRender, cannotRender)},
		{"GET", "/api/v1/applications/api-prod-web/resource-tree", nil, as(cannotRender, cannotRender, cannotRender)},
		{"GET", "/api/v1/applications/api-prod-web/events", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/applications/api-staging-web/events", nil, as(ok, ok, denied)},
		{"DELETE", "/api/v1/applications/api-matrix?cascade=false", nil, as(ok, denied, denied)},
		{"GET", "/api/v1/projects", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/projects/production", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/projects/staging", nil, as(ok, ok, denied)},
		{"POST", "/api/v1/projects/staging/roles/none/token", map[string]any{}, as(missing, denied, denied)},
		{"POST", "/api/v1/projects/production/roles/app-developer/token", map[string]any{"expiresIn": 60}, as(ok, denied, denied)},
		{"GET", "/api/v1/clusters", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/repositories", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/account", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/account/admin", nil, as(ok, ok, denied)},
		{"POST", "/api/v1/account/ci/token", map[string]any{"expiresIn": 60}, as(ok, denied, denied)},
		{"PUT", "/api/v1/account/password", map[string]any{"name": "ci", "currentPassword": "x", "newPassword": "long-enough-password"}, map[string]int{"admin": http.StatusBadRequest, "readonly": denied, "projtoken": http.StatusBadRequest, "ssogroup": http.StatusBadRequest}},
		{"GET", "/api/v1/account/can-i/applications/sync/production/x", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/flux/kustomizations", nil, as(ok, ok, ok)},
		{"GET", "/api/v1/flux/kustomizations/flux-system/none", nil, as(missing, missing, denied)},
		{"POST", "/api/v1/flux/kustomizations/flux-system/none/reconcile", nil, as(missing, denied, denied)},
		{"GET", "/api/v1/flux/kustomizations/flux-system/none/tree", nil, as(missing, missing, denied)},
		{"GET", "/api/v1/flux/kustomizations/flux-system/none/diff", nil, as(missing, missing, denied)},
		{"GET", "/api/v1/flux/kustomizations/flux-system/none/resource?version=v1&kind=Secret&namespace=argocd&name=argocd-secret", nil, as(missing, missing, denied)},
		{"GET", "/api/v1/apps", nil, as(ok, ok, ok)},
	}
	for _, r := range rows {
		for who, token := range callers {
			want, listed := r.want[who]
			if !listed {
				want = unauth
			}
			status, body, _ := api.do(r.method, r.path, token, r.body)
			if status != want {
				t.Errorf("%s %s as %s: %d %s, want %d", r.method, r.path, who, status, body, want)
			}
		}
	}

	// What each caller sees in lists.
	for who, want := range map[string][]string{
		"admin":     {"api-prod-web", "api-staging-web"},
		"readonly":  {"api-prod-web", "api-staging-web"},
		"projtoken": {"api-prod-web"},
		"ssogroup":  {"api-prod-web"},
	} {
		if got := appNames(t, api, callers[who], "/api/v1/applications?search=api-"); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s lists %v, want %v", who, got, want)
		}
	}
	// The UI's list sees what the Applications list sees.
	for who, want := range map[string]string{"admin": "api-prod-web,api-staging-web", "readonly": "api-prod-web,api-staging-web", "projtoken": "api-prod-web", "ssogroup": "api-prod-web"} {
		status, body, _ := api.do("GET", "/api/v1/apps?kind=Application&search=api-", callers[who], nil)
		var page struct {
			Items []struct{ Name string }
			Total int
		}
		if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
			t.Fatalf("GET /api/v1/apps as %s: %d %s", who, status, body)
		}
		var got []string
		for _, row := range page.Items {
			got = append(got, row.Name)
		}
		if strings.Join(got, ",") != want || page.Total != len(got) {
			t.Errorf("/api/v1/apps as %s lists %v (total %d), want %s", who, got, page.Total, want)
		}
	}
	if got := appNames(t, api, admin, "/api/v1/applications?search=api-&projects=staging"); strings.Join(got, ",") != "api-staging-web" {
		t.Errorf("projects=staging lists %v", got)
	}
	if got := appNames(t, api, admin, "/api/v1/applications?search=api-&limit=1"); len(got) != 1 {
		t.Errorf("limit=1 lists %v", got)
	}

	// userinfo never fails; it says who the token stands for.
	for who, want := range map[string]string{"admin": `"username":"admin"`, "readonly": `"username":"carol"`, "anonymous": `"loggedIn":false`, "forged": `"loggedIn":false`} {
		_, body, _ := api.do("GET", "/api/v1/session/userinfo", callers[who], nil)
		if !strings.Contains(string(body), want) {
			t.Errorf("userinfo as %s = %s, want %s", who, body, want)
		}
	}

	// Brute force: after five wrong passwords, the right one is refused
	// too, for a while; other accounts are not affected.
	for i := 0; i < 5; i++ {
		if status, _, _ := api.do("POST", "/api/v1/session", "", map[string]string{"username": "carol", "password": "wrong"}); status != unauth {
			t.Fatalf("wrong password: %d", status)
		}
	}
	if status, body, _ := api.do("POST", "/api/v1/session", "", map[string]string{"username": "carol", "password": "carol-password"}); status != unauth || !strings.Contains(string(body), "Invalid username or password") {
		t.Errorf("6th attempt with the right password: %d %s, want 401 Invalid username or password", status, body)
	}
	api.login("admin", adminPassword)

	// No secret value in any answer or log line.
	secrets := []string{adminPassword, string(key), "carol-password"}
	for _, r := range rows {
		_, body, _ := api.do(r.method, r.path, admin, nil)
		for _, s := range secrets {
			if strings.Contains(string(body), s) {
				t.Errorf("%s %s answers a secret value", r.method, r.path)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(tether.Logs.String(), s) {
			t.Error("tether's log holds a secret value")
		}
	}
}

// placeholderApps applies Applications (name -> project) of a repository
// that does not exist: enough for what the API shows and allows.
func placeholderApps(t *testing.T, apps map[string]string) {
	t.Helper()
	for name, project := range apps {
		applyYAML(t, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: %s
  source: {repoURL: "https://github.com/example/production-apps.git", targetRevision: HEAD, path: web}
  destination: {server: "https://kubernetes.default.svc", namespace: production}
`, name, project))
	}
}

// unsignedToken is a token with alg "none".
func unsignedToken(t *testing.T, claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appNames(t *testing.T, api *apiClient, token, path string) []string {
	t.Helper()
	status, body, _ := api.do("GET", path, token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var list struct{ Items []argov1.Application }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list.Items {
		names = append(names, a.Name)
	}
	return names
}

// TestAPIServerStreamsApplications: a client of the application stream
// first gets the apps it may read, then each change of them as it
// happens, and never an app of another project.
func TestAPIServerStreamsApplications(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "03-argo-appproject-production.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	placeholderApps(t, map[string]string{"stream-prod": "production", "stream-default": "default"})
	t.Cleanup(func() {
		for _, name := range []string{"stream-prod", "stream-default"} {
			_ = c.Delete(ctx, &argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}})
		}
		_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "production", Namespace: "argocd"}})
	})
	tether := startTether(t)
	api, admin := adminSession(t, c, tether)
	base := api.base
	issued := struct{ Token string }{api.projectToken(admin, "production", "app-developer")}

	streamCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(streamCtx, "GET", base+"/api/v1/stream/applications?search=stream-", nil)
	req.Header.Set("Authorization", "Bearer "+issued.Token)
	resp, err := api.http.Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 100)
	go func() {
		defer close(events)
		scanner := bufio.NewScanner(resp.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			line, ok := strings.CutPrefix(scanner.Text(), "data: ")
			if !ok {
				continue
			}
			var e struct {
				Result struct {
					Type        string
					Application argov1.Application
				}
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				events <- "unreadable: " + line
				continue
			}
			events <- e.Result.Type + " " + e.Result.Application.Name + " " + e.Result.Application.Annotations["e2e/mark"]
		}
	}()
	next := func(what string) string {
		select {
		case e := <-events:
			return e
		case <-time.After(30 * time.Second):
			t.Fatalf("no stream event: waiting for %s", what)
			return ""
		}
	}
	if e := next("the snapshot"); e != "ADDED stream-prod " {
		t.Fatalf("first event %q, want the snapshot of stream-prod", e)
	}
	mark := func(name, value string) {
		var app argov1.Application
		if err := c.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: name}, &app); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(app.DeepCopy())
		if app.Annotations == nil {
			app.Annotations = map[string]string{}
		}
		app.Annotations["e2e/mark"] = value
		if err := c.Patch(ctx, &app, patch); err != nil {
			t.Fatal(err)
		}
	}
	// The other project's app changes first; the stream must skip it.
	mark("stream-default", "1")
	mark("stream-prod", "2")
	for {
		e := next("the change of stream-prod")
		if strings.Contains(e, "stream-default") {
			t.Fatalf("stream of a production token sent %q", e)
		}
		if e == "MODIFIED stream-prod 2" {
			break
		}
	}
}

// TestAPIServerAccounts: API keys for an account with the apiKey
// capability work until their record is deleted; a password change ends
// every session issued before it; can-i answers for the caller.
func TestAPIServerAccounts(t *testing.T) {
	c := kubeClient(t)
	apiFixture(t, c)
	tether := startTether(t)
	api, admin := adminSession(t, c, tether)
	carol := api.login("carol", "carol-password")
	expect := api.expect
	if out := expect("GET", "/api/v1/account", admin, nil, http.StatusOK); !strings.Contains(string(out), `"name":"ci"`) || strings.Contains(string(out), "$2a$") {
		t.Errorf("accounts: %s", out)
	}
	expect("POST", "/api/v1/account/ci/token", carol, map[string]any{}, http.StatusForbidden)
	expect("POST", "/api/v1/account/carol/token", carol, map[string]any{}, http.StatusBadRequest) // no apiKey capability
	var issued struct{ Token string }
	if err := json.Unmarshal(expect("POST", "/api/v1/account/ci/token", admin, map[string]any{"id": "pipeline"}, http.StatusOK), &issued); err != nil {
		t.Fatal(err)
	}
	ci := issued.Token
	eventually(t, 10*time.Second, "the API key accepted", func(context.Context) error {
		if status, body, _ := api.do("GET", "/api/v1/session/userinfo", ci, nil); !strings.Contains(string(body), `"username":"ci"`) {
			return fmt.Errorf("%d %s", status, body)
		}
		return nil
	})
	if out := expect("GET", "/api/v1/account/can-i/applications/get/default/x", carol, nil, http.StatusOK); string(out) != "{\"value\":\"yes\"}\n" {
		t.Errorf("can-i as readonly: %s", out)
	}
	if out := expect("GET", "/api/v1/account/can-i/applications/sync/default/x", carol, nil, http.StatusOK); string(out) != "{\"value\":\"no\"}\n" {
		t.Errorf("can-i sync as readonly: %s", out)
	}
	expect("DELETE", "/api/v1/account/ci/token/pipeline", admin, nil, http.StatusOK)
	eventually(t, 10*time.Second, "the deleted API key refused", func(context.Context) error {
		if status, _, _ := api.do("GET", "/api/v1/applications", ci, nil); status != http.StatusUnauthorized {
			return fmt.Errorf("status %d", status)
		}
		return nil
	})

	// Password change: the current one is checked; older sessions end.
	expect("PUT", "/api/v1/account/password", carol, map[string]any{"currentPassword": "wrong", "newPassword": "carol-password-2"}, http.StatusBadRequest)
	expect("PUT", "/api/v1/account/password", carol, map[string]any{"currentPassword": "carol-password", "newPassword": "short"}, http.StatusBadRequest)
	time.Sleep(time.Second) // the change's time is kept to the second
	expect("PUT", "/api/v1/account/password", carol, map[string]any{"currentPassword": "carol-password", "newPassword": "carol-password-2"}, http.StatusOK)
	eventually(t, 10*time.Second, "carol's old session refused", func(context.Context) error {
		if status, _, _ := api.do("GET", "/api/v1/applications", carol, nil); status != http.StatusUnauthorized {
			return fmt.Errorf("status %d", status)
		}
		return nil
	})
	api.login("carol", "carol-password-2")
	for _, s := range []string{"carol-password-2", ci} {
		if strings.Contains(tether.Logs.String(), s) {
			t.Error("tether's log holds a password or an API key")
		}
	}
}

// TestTetherServerAlone: `tether server` serves the API without any
// controller (a split deployment): logins and reads work; what needs a
// controller says so.
func TestTetherServerAlone(t *testing.T) {
	c := kubeClient(t)
	apiFixture(t, c)
	tether := testenv.StartTetherServer(t, cluster(t))
	base, err := tether.APIURL(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	api := newAPIClient(t, base)
	carol := api.login("carol", "carol-password")
	if status, body, _ := api.do("GET", "/api/v1/applications", carol, nil); status != http.StatusOK {
		t.Errorf("list: %d %s", status, body)
	}
	if status, body, _ := api.do("GET", "/api/v1/stream/progress", carol, nil); status != http.StatusServiceUnavailable {
		t.Errorf("progress stream without controllers: %d %s, want 503", status, body)
	}
	if strings.Contains(tether.Logs.String(), `"Starting Controller"`) {
		t.Error("tether server started a controller")
	}
}

// TestAPIServerWithoutArgoNamespace: a cluster without Argo CD's
// namespace (Flux only) keeps every controller running; the API makes its
// settings once the namespace appears.
func TestAPIServerWithoutArgoNamespace(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	tether := startTether(t, "--argocd-namespace", "api-late")
	eventually(t, 30*time.Second, "the retry logged", func(context.Context) error {
		if !strings.Contains(tether.Logs.String(), "waiting for its namespace to make its settings") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if tether.Cmd.ProcessState != nil {
		t.Fatal("tether exited")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "api-late"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, ns) })
	eventually(t, 30*time.Second, "argocd-initial-admin-secret in api-late", func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: "api-late", Name: "argocd-initial-admin-secret"}, &corev1.Secret{})
	})
}

package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/scheme"
)

type fakeSettings struct {
	secret map[string][]byte
	cm     map[string]string
}

func (f fakeSettings) Secret() map[string][]byte    { return f.secret }
func (f fakeSettings) ConfigMap() map[string]string { return f.cm }

const pushURL = "https://github.com/example/guestbook"

func testApp(ns, name, url, rev string) *argov1.Application {
	return &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: argov1.ApplicationSpec{Source: &argov1.ApplicationSource{RepoURL: url, TargetRevision: rev, Path: "apps/" + name}}}
}

// newTestHandler serves pushes against a fake client holding apps of the
// pushed repository and others.
func newTestHandler(t *testing.T, settings fakeSettings) (*Handler, client.Client) {
	t.Helper()
	s, err := scheme.New()
	if err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(
		testApp("argocd", "hit-head", pushURL+".git", "HEAD"),
		testApp("argocd", "hit-branch", "git@github.com:example/guestbook.git", "main"),
		testApp("argocd", "other-repo", "https://github.com/example/other", "main"),
		testApp("argocd", "other-branch", pushURL, "release"),
		testApp("team-a", "hit-team", pushURL, "main"),
		testApp("elsewhere", "not-served", pushURL, "main"),
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "hit"},
			Spec: sourcev1.GitRepositorySpec{URL: pushURL, Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}},
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "miss"},
			Spec: sourcev1.GitRepositorySpec{URL: pushURL, Reference: &sourcev1.GitRepositoryRef{Branch: "dev"}}},
	).Build()
	h, err := NewHandler(Options{Client: c, Settings: settings, Namespace: "argocd", AppNamespaces: []string{"team-*"}})
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

func post(h http.Handler, headers map[string]string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/webhook", bytes.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// refreshed returns the names of the apps and GitRepositories asked to
// reconcile.
func refreshed(t *testing.T, c client.Client) []string {
	t.Helper()
	var out []string
	var apps argov1.ApplicationList
	if err := c.List(context.Background(), &apps); err != nil {
		t.Fatal(err)
	}
	for _, a := range apps.Items {
		if a.Annotations[argov1.AnnotationKeyRefresh] == "normal" {
			out = append(out, a.Name)
		}
	}
	var repos sourcev1.GitRepositoryList
	if err := c.List(context.Background(), &repos); err != nil {
		t.Fatal(err)
	}
	for _, r := range repos.Items {
		if r.Annotations[meta.ReconcileRequestAnnotation] != "" {
			out = append(out, "repo/"+r.Name)
		}
	}
	return out
}

func TestHandlerRefreshesAffectedOnly(t *testing.T) {
	const secret = "gh-secret"
	h, c := newTestHandler(t, fakeSettings{secret: map[string][]byte{GitHubSecretKey: []byte(secret)}})
	body := readTestdata(t, "github-push.json")
	w := post(h, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, body)}, body)
	h.Wait()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := strings.Join(refreshed(t, c), ",")
	if want := "hit-branch,hit-head,hit-team,repo/hit"; got != want {
		t.Errorf("refreshed %s, want %s", got, want)
	}
}

func TestHandlerRefuses(t *testing.T) {
	const secret = "gh-secret"
	body := readTestdata(t, "github-push.json")
	signed := "sha256=" + sign(sha256.New, secret, body)
	big := append(bytes.Repeat([]byte(" "), 2<<20), body...)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		body    []byte
		code    int
		message string
	}{
		{"no provider header", map[string]string{"X-Hub-Signature-256": signed}, body, 400, "Unknown webhook event"},
		{"unknown GitHub event", map[string]string{"X-GitHub-Event": "issues", "X-Hub-Signature-256": signed}, body, 400, "Unknown webhook event"},
		{"bad signature", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, "wrong", body)}, body, 400, "HMAC verification failed"},
		{"no signature", map[string]string{"X-GitHub-Event": "push"}, body, 400, "HMAC verification failed"},
		{"changed body", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": signed}, append([]byte(" "), body...), 400, "HMAC verification failed"},
		{"unsigned provider while GitHub's secret is set", map[string]string{"X-Gitea-Event": "push"}, body, 400, "no webhook secret is set for gitea"},
		{"oversized", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, big)}, big, 413, "limit"},
		{"malformed but signed", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, []byte("{"))}, []byte("{"), 400, "malformed payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := newTestHandler(t, fakeSettings{secret: map[string][]byte{GitHubSecretKey: []byte(secret)}, cm: map[string]string{MaxPayloadKey: "1"}})
			w := post(h, tc.headers, tc.body)
			h.Wait()
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
				t.Errorf("got %d %q, want %d with %q", w.Code, w.Body, tc.code, tc.message)
			}
			if got := refreshed(t, c); len(got) != 0 {
				t.Errorf("refreshed %v after a refused request", got)
			}
		})
	}
}

func TestHandlerProviders(t *testing.T) {
	gitea := readTestdata(t, "gitea-push.json")
	for _, tc := range []struct {
		name     string
		settings map[string][]byte
		headers  map[string]string
		body     []byte
		code     int
	}{
		{"GitHub ping", map[string][]byte{GitHubSecretKey: []byte("s")},
			map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, "s", []byte("{}"))}, []byte("{}"), 200},
		{"GitLab token", map[string][]byte{GitLabSecretKey: []byte("t")},
			map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "t"}, readTestdata(t, "gitlab-push.json"), 200},
		{"GitLab wrong token", map[string][]byte{GitLabSecretKey: []byte("t")},
			map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "x"}, readTestdata(t, "gitlab-push.json"), 400},
		{"GitLab merge request", map[string][]byte{GitLabSecretKey: []byte("t")},
			map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": "t"}, []byte("{}"), 400},
		{"Bitbucket UUID", map[string][]byte{BitbucketUUIDKey: []byte("{u}")},
			map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "{u}"}, readTestdata(t, "bitbucket-push.json"), 200},
		{"Bitbucket wrong UUID", map[string][]byte{BitbucketUUIDKey: []byte("{u}")},
			map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "{v}"}, readTestdata(t, "bitbucket-push.json"), 400},
		{"Gitea with its own secret", map[string][]byte{GiteaSecretKey: []byte("g")},
			map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gitea-Signature": sign(sha256.New, "g", gitea)}, gitea, 200},
		{"Gitea with Gogs' secret", map[string][]byte{GogsSecretKey: []byte("g")},
			map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign(sha256.New, "g", gitea)}, gitea, 200},
		{"Gogs", map[string][]byte{GogsSecretKey: []byte("g")},
			map[string]string{"X-Gogs-Event": "push", "X-Gogs-Signature": sign(sha256.New, "g", gitea)}, gitea, 200},
		{"Gogs bad signature", map[string][]byte{GogsSecretKey: []byte("g")},
			map[string]string{"X-Gogs-Event": "push", "X-Gogs-Signature": sign(sha256.New, "x", gitea)}, gitea, 400},
		{"no secret at all accepts unsigned", nil,
			map[string]string{"X-Gogs-Event": "push"}, gitea, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestHandler(t, fakeSettings{secret: tc.settings})
			w := post(h, tc.headers, tc.body)
			h.Wait()
			if w.Code != tc.code {
				t.Errorf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), tc.code)
			}
		})
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestApplicationRepositoryCredentials reads Argo CD's repository Secrets:
// a repo-creds template matches by URL prefix, a repository Secret by the
// exact URL and wins over the template; a wrong password is an
// authentication error that never shows the password.
func TestApplicationRepositoryCredentials(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitGitServerOptions())
	repo := srv.CreateRepo(t, "private-app")
	head := repo.Commit(t, "master", map[string]string{"app/cm.yaml": configMap("private-config", "")}, "private app")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/private/app.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: private, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example.com/private/app.git", targetRevision: HEAD, path: app}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
  syncPolicy: {automated: {prune: true}}
`)
	t.Cleanup(func() { deleteApp(t, c, "argocd", "private") })
	secret := func(name, typ, url, password string) {
		t.Helper()
		upsertSecret(t, c, "argocd", name, map[string]string{"url": url, "username": gitUser, "password": password})
		var s corev1.Secret
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: name}, &s); err != nil {
			t.Fatal(err)
		}
		p := client.MergeFrom(s.DeepCopy())
		s.Labels = map[string]string{argov1.LabelKeySecretType: typ}
		if err := c.Patch(context.Background(), &s, p); err != nil {
			t.Fatal(err)
		}
	}
	comparisonError := func(t *testing.T, part string) *argov1.Application {
		t.Helper()
		return waitCondition(t, c, "private", argov1.ApplicationConditionComparisonError, part)
	}

	t.Run("without credentials the fetch is refused", func(t *testing.T) {
		comparisonError(t, "authentication")
	})

	t.Run("a repo-creds template matches by prefix", func(t *testing.T) {
		secret("private-creds", argov1.SecretTypeRepoCreds, "https://git.example.com/private", gitPassword)
		waitApp(t, c, "argocd", "private", head, "Synced", "Healthy", 30*time.Second)
	})

	t.Run("a repository Secret for the exact URL wins; a wrong password never shows", func(t *testing.T) {
		wrong := "wrong-" + randomText(20)
		secret("private-repo", argov1.SecretTypeRepository, "https://git.example.com/private/app.git", wrong)
		app := comparisonError(t, "authentication")
		status, _ := json.Marshal(app.Status)
		for where, text := range map[string]string{"status": string(status), "logs": tether.Logs.String()} {
			for _, s := range []string{wrong, gitPassword} {
				if strings.Contains(text, s) {
					t.Errorf("a password appears in %s", where)
				}
			}
		}
	})
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
)

// TestAPIServerFluxClustersRepositories: Flux objects are read and acted
// on through the API with their namespace in the place of a project;
// registered clusters and repositories are listed per project scope and
// never with a credential (CVE-2025-55190, CVE-2023-40029).
func TestAPIServerFluxClustersRepositories(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	const token, password, key = "cluster-token-SECRET", "repo-password-SECRET", "ssh-key-SECRET"
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-cluster", Namespace: "argocd",
			Labels:      map[string]string{argov1.LabelKeySecretType: argov1.SecretTypeCluster},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"config":"{\"bearerToken\":\"` + token + `\"}"}}`}},
			StringData: map[string]string{"name": "remote", "server": "https://remote.example.com", "config": `{"bearerToken":"` + token + `"}`, "namespaces": "a,b"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-repo-team", Namespace: "argocd",
			Labels: map[string]string{argov1.LabelKeySecretType: argov1.SecretTypeRepository}},
			StringData: map[string]string{"url": "https://git.example.com/team.git", "project": "team", "username": "bot", "password": password}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-repo-other", Namespace: "argocd",
			Labels: map[string]string{argov1.LabelKeySecretType: argov1.SecretTypeRepository}},
			StringData: map[string]string{"url": "git@git.example.com:other.git", "sshPrivateKey": key}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  roles:
  - name: reader
    policies: ["p, proj:team:reader, repositories, get, team/*, allow"]
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: api-ks, namespace: flux-system}
spec:
  interval: 1h
  path: ./
  prune: true
  sourceRef: {kind: GitRepository, name: api-no-such-repo}
`)
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(ctx, o)
		}
		_ = c.Delete(ctx, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "argocd"}})
		_ = c.Delete(ctx, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "api-ks", Namespace: "flux-system"}})
	})

	tether := startTether(t)
	api, admin := adminSession(t, c, tether)
	carol := api.login("carol", "carol-password")
	issued := struct{ Token string }{api.projectToken(admin, "team", "reader")}
	team := issued.Token
	secrets := []string{token, password, key}
	get := func(path, who string, want int) string {
		t.Helper()
		status, body, _ := api.do("GET", path, who, nil)
		if status != want {
			t.Fatalf("GET %s: %d %s, want %d", path, status, body, want)
		}
		for _, s := range secrets {
			if strings.Contains(string(body), s) {
				t.Errorf("GET %s shows a credential", path)
			}
		}
		return string(body)
	}

	// Clusters and repositories.
	if body := get("/api/v1/clusters", admin, http.StatusOK); !strings.Contains(body, `"server":"https://remote.example.com"`) || !strings.Contains(body, `"name":"in-cluster"`) || !strings.Contains(body, `"namespaces":["a","b"]`) {
		t.Errorf("clusters as admin: %s", body)
	}
	if body := get("/api/v1/repositories", admin, http.StatusOK); !strings.Contains(body, "team.git") || !strings.Contains(body, "other.git") {
		t.Errorf("repositories as admin: %s", body)
	}
	if body := get("/api/v1/repositories", team, http.StatusOK); !strings.Contains(body, "team.git") || strings.Contains(body, "other.git") {
		t.Errorf("repositories as team's project token: %s, want team.git only", body)
	}
	if body := get("/api/v1/clusters", team, http.StatusOK); strings.Contains(body, "remote.example.com") {
		t.Errorf("clusters as team's project token: %s, want none", body)
	}

	// Flux objects: read-only users read, admins act, project tokens see nothing.
	ks := "/api/v1/flux/kustomizations/flux-system/api-ks"
	if body := get("/api/v1/flux/kustomizations?search=api-", carol, http.StatusOK); !strings.Contains(body, `"name":"api-ks"`) {
		t.Errorf("kustomizations as readonly: %s", body)
	}
	if body := get("/api/v1/flux/kustomizations?search=api-", team, http.StatusOK); strings.Contains(body, "api-ks") {
		t.Errorf("kustomizations as a project token: %s", body)
	}
	get(ks, carol, http.StatusOK)
	get(ks, team, http.StatusForbidden)
	get("/api/v1/flux/nosuchkind", admin, http.StatusNotFound)
	for _, action := range []string{"reconcile", "suspend", "resume"} {
		if status, body, _ := api.do("POST", ks+"/"+action, carol, nil); status != http.StatusForbidden {
			t.Errorf("%s as readonly: %d %s", action, status, body)
		}
	}
	if status, body, _ := api.do("POST", ks+"/suspend", admin, nil); status != http.StatusOK {
		t.Fatalf("suspend: %d %s", status, body)
	}
	var k kustomizev1.Kustomization
	eventually(t, 10*time.Second, "spec.suspend true", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: "api-ks"}, &k); err != nil {
			return err
		}
		if !k.Spec.Suspend {
			return fmt.Errorf("not suspended")
		}
		return nil
	})
	if status, body, _ := api.do("POST", ks+"/reconcile", admin, nil); status != http.StatusOK {
		t.Fatalf("reconcile: %d %s", status, body)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: "api-ks"}, &k); err != nil || k.Annotations["reconcile.fluxcd.io/requestedAt"] == "" {
		t.Errorf("reconcile did not set requestedAt: %v %v", k.Annotations, err)
	}
	get(ks+"/events", carol, http.StatusOK)
	get(ks+"/tree", carol, http.StatusOK)
}

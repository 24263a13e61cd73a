package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestGitRepositorySSHIncludeSuspendDelete covers SSH credentials with
// known_hosts, spec.include, suspend, events and artifact removal on delete.
func TestGitRepositorySSHIncludeSuspendDelete(t *testing.T) {
	c := kubeClient(t)
	signer, identity := gitserver.NewClientKey(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: signer.PublicKey()})
	app := srv.CreateRepo(t, "app")
	head := app.Commit(t, "main", podinfoFiles(t), "app")
	cfg := srv.CreateRepo(t, "config")
	cfg.Commit(t, "master", map[string]string{"clusters/prod/kustomization.yaml": "resources: []\n"}, "config")

	storage := t.TempDir()
	startTether(t, "--storage-path", storage, "--git-resolve-ttl", "1s")
	createSecret(t, c, "flux-system", "ssh-credentials", map[string]string{
		"identity": string(identity), "known_hosts": srv.KnownHosts(),
	})
	createSecret(t, c, "flux-system", "ssh-wrong-host", map[string]string{
		"identity": string(identity), "known_hosts": strings.Replace(srv.KnownHosts(), "[127.0.0.1]", "[127.0.0.2]", 1),
	})

	t.Run("SSH with identity and known_hosts", func(t *testing.T) {
		applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: app-ssh, namespace: flux-system}
spec:
  interval: 1m
  url: %s
  ref: {branch: main}
  secretRef: {name: ssh-credentials}
`, app.SSHURL))
		repo := waitReady(t, c, "flux-system", "app-ssh", 60*time.Second)
		if want := "main@sha1:" + head; repo.Status.Artifact.Revision != want {
			t.Errorf("revision = %s, want %s", repo.Status.Artifact.Revision, want)
		}
	})

	t.Run("SSH host not in known_hosts is refused", func(t *testing.T) {
		applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: app-ssh-untrusted, namespace: flux-system}
spec:
  interval: 1m
  url: %s
  ref: {branch: main}
  secretRef: {name: ssh-wrong-host}
`, app.SSHURL))
		cond := waitFailed(t, c, "app-ssh-untrusted")
		if !strings.Contains(cond.Message, app.SSHURL) {
			t.Errorf("message %q does not name the URL", cond.Message)
		}
	})

	t.Run("include copies another repository's artifact", func(t *testing.T) {
		applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: config, namespace: flux-system}
spec:
  interval: 1m
  url: %s
  secretRef: {name: ssh-credentials}
  include:
    - repository: {name: app-ssh}
      fromPath: deploy/webapp
      toPath: apps/podinfo
`, cfg.SSHURL))
		repo := waitReady(t, c, "flux-system", "config", 60*time.Second)
		files := strings.Join(artifactFiles(t, repo.Status.Artifact.URL), ",")
		for _, want := range []string{"clusters/prod/kustomization.yaml", "apps/podinfo/deployment.yaml", "apps/podinfo/kustomization.yaml"} {
			if !strings.Contains(files, want) {
				t.Errorf("artifact files %s lack %s", files, want)
			}
		}
		if strings.Contains(files, "charts/") {
			t.Errorf("artifact holds more than fromPath: %s", files)
		}
		if len(repo.Status.IncludedArtifacts) != 1 {
			t.Errorf("includedArtifacts = %+v", repo.Status.IncludedArtifacts)
		}
	})

	t.Run("suspended repository is left alone", func(t *testing.T) {
		patchSuspend(t, c, "app-ssh", true)
		before := waitReady(t, c, "flux-system", "app-ssh", 10*time.Second).Status.Artifact.Revision
		app.Commit(t, "main", map[string]string{"deploy/webapp/new.yaml": "kind: ConfigMap\n"}, "while suspended")
		requestReconcile(t, c, "app-ssh")
		time.Sleep(3 * time.Second)
		repo, err := getRepo(context.Background(), c, "flux-system", "app-ssh")
		if err != nil {
			t.Fatal(err)
		}
		if repo.Status.Artifact.Revision != before {
			t.Errorf("suspended repository moved from %s to %s", before, repo.Status.Artifact.Revision)
		}
		patchSuspend(t, c, "app-ssh", false)
		waitRevision(t, c, "app-ssh", "main@sha1:"+app.Head(t, "main"), 30*time.Second)
	})

	t.Run("old artifacts are garbage-collected", func(t *testing.T) {
		next := app.Commit(t, "main", map[string]string{"deploy/webapp/third.yaml": "kind: ConfigMap\n"}, "third revision")
		requestReconcile(t, c, "app-ssh")
		repo := waitRevision(t, c, "app-ssh", "main@sha1:"+next, 30*time.Second)
		entries, err := os.ReadDir(filepath.Join(storage, "gitrepository", "flux-system", "app-ssh"))
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, e := range entries {
			kept = append(kept, e.Name())
		}
		if len(kept) != 2 || !strings.Contains(strings.Join(kept, ","), filepath.Base(repo.Status.Artifact.Path)) {
			t.Errorf("after three revisions the storage keeps %v; want the current artifact and one before it", kept)
		}
	})

	t.Run("a new revision is announced with an event", func(t *testing.T) {
		eventually(t, 10*time.Second, "NewArtifact event for app-ssh", func(ctx context.Context) error {
			var events corev1.EventList
			if err := c.List(ctx, &events, client.InNamespace("flux-system")); err != nil {
				return err
			}
			for _, e := range events.Items {
				if e.InvolvedObject.Name == "app-ssh" && e.Reason == "NewArtifact" && strings.Contains(e.Message, "main@sha1:") {
					return nil
				}
			}
			return fmt.Errorf("none among %d events", len(events.Items))
		})
	})

	t.Run("deleting the repository removes its artifacts", func(t *testing.T) {
		repo, err := getRepo(context.Background(), c, "flux-system", "config")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(context.Background(), repo); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "GitRepository config gone", func(ctx context.Context) error {
			_, err := getRepo(ctx, c, "flux-system", "config")
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("still there (err %v)", err)
		})
		dir := filepath.Join(storage, "gitrepository", "flux-system", "config")
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			t.Errorf("artifacts left in %s: %d entries", dir, len(entries))
		}
	})
}

func patchSuspend(t *testing.T, c client.Client, name string, suspend bool) {
	t.Helper()
	repo, err := getRepo(context.Background(), c, "flux-system", name)
	if err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(repo.DeepCopy())
	repo.Spec.Suspend = suspend
	if err := c.Patch(context.Background(), repo, patch); err != nil {
		t.Fatal(err)
	}
}

func requestReconcile(t *testing.T, c client.Client, name string) string {
	t.Helper()
	return requestGitReconcileIn(t, c, "flux-system", name)
}

// requestGitReconcileIn asks GitRepository ns/name to fetch now, as `flux
// reconcile source git` does, and returns the annotation's value.
func requestGitReconcileIn(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	repo, err := getRepo(context.Background(), c, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().Format(time.RFC3339Nano)
	patch := client.MergeFrom(repo.DeepCopy())
	if repo.Annotations == nil {
		repo.Annotations = map[string]string{}
	}
	repo.Annotations["reconcile.fluxcd.io/requestedAt"] = stamp
	if err := c.Patch(context.Background(), repo, patch); err != nil {
		t.Fatal(err)
	}
	return stamp
}

// TestURLRewriteFromConfigMap maps a URL through the rules of a ConfigMap
// instead of flags.
func TestURLRewriteFromConfigMap(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "mirrored")
	head := repo.Commit(t, "master", map[string]string{"deploy/cm.yaml": "kind: ConfigMap\n"}, "init")
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "tether-url-rewrites"},
		Data:       map[string]string{"rules": "# air-gapped mirror\nhttps://internal-git.example.com/=" + srv.URL + "/\n"},
	}
	if err := c.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	startTether(t, "--url-rewrite-configmap", "flux-system/tether-url-rewrites")
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: mirrored, namespace: flux-system}
spec: {interval: 1m, url: https://internal-git.example.com/mirrored.git}
`)
	got := waitReady(t, c, "flux-system", "mirrored", 60*time.Second)
	if want := "master@sha1:" + head; got.Status.Artifact.Revision != want {
		t.Errorf("revision = %s, want %s", got.Status.Artifact.Revision, want)
	}
}

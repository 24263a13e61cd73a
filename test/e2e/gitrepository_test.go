package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

const (
	gitUser     = "podinfo-bot"
	gitPassword = "hunter2-s3cr3t-git-password"
)

// podinfoFiles returns testdata/podinfo as path -> content.
func podinfoFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := "testdata/podinfo"
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGitRepository runs the seed's 05 example and the failure cases of the
// Git source against `tether run`, a real Git server and the API server.
func TestGitRepository(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitGitServerOptions())
	podinfo := srv.CreateRepo(t, "podinfo")
	files := podinfoFiles(t)
	files[".github/workflows/ci.yaml"] = "on: push\n"
	head := podinfo.Commit(t, "master", files, "podinfo app")

	// The second server goes away mid-test to check "unreachable".
	flaky := gitserver.New(t, gitserver.Options{})
	flakyRepo := flaky.CreateRepo(t, "flaky")
	flakyRepo.Commit(t, "master", map[string]string{"deploy/cm.yaml": "kind: ConfigMap\n"}, "init")

	escape := srv.CreateRepo(t, "escape")
	escape.Commit(t, "master", map[string]string{"deploy/ok.yaml": "a: b\n"}, "init")
	escape.Symlink(t, "master", "deploy/passwd", "/etc/passwd", "link out")

	big := srv.CreateRepo(t, "big")
	big.Commit(t, "master", map[string]string{"deploy/blob.txt": randomText(400 << 10)}, "big file")

	tether := startTether(t,
		"--url-rewrite", "https://github.com/stefanprodan/podinfo="+podinfo.URL,
		"--url-rewrite", "https://flaky.example.com/="+flaky.URL+"/",
		"--url-rewrite", "https://github.com/example/="+srv.URL+"/",
		"--artifact-max-size", fmt.Sprint(256<<10),
		"--git-resolve-ttl", "1s",
	)
	createSecret(t, c, "flux-system", "https-credentials", map[string]string{"username": gitUser, "password": gitPassword})
	createSecret(t, c, "flux-system", "wrong-credentials", map[string]string{"username": gitUser, "password": "not-the-" + gitPassword})

	t.Run("seed 05: only deploy/ of master is stored", func(t *testing.T) {
		objs := seedObjects(t, filepath.Join(seedDir, "05-flux-gitrepository-podinfo.yaml"))
		for _, o := range objs {
			checkAppliedAsWritten(t, newApplier(t), o)
		}
		repo := waitReady(t, c, "flux-system", "podinfo", 60*time.Second)
		a := repo.Status.Artifact
		if want := "master@sha1:" + head; a.Revision != want {
			t.Errorf("artifact revision = %q, want %q", a.Revision, want)
		}
		if !strings.HasPrefix(a.Digest, "sha256:") || a.Size == nil || *a.Size == 0 || a.LastUpdateTime.IsZero() {
			t.Errorf("artifact lacks digest, size or time: %+v", a)
		}
		got := artifactFiles(t, a.URL)
		want := []string{"deploy/bases/namespace.yaml", "deploy/webapp/deployment.yaml", "deploy/webapp/kustomization.yaml", "deploy/webapp/service.yaml"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("artifact files = %v, want %v", got, want)
		}
		if repo.Status.ObservedGeneration != repo.Generation {
			t.Errorf("observedGeneration = %d, want %d", repo.Status.ObservedGeneration, repo.Generation)
		}
		for _, typ := range []string{"Ready", "ArtifactInStorage"} {
			if !apimeta.IsStatusConditionTrue(repo.Status.Conditions, typ) {
				t.Errorf("condition %s not True: %+v", typ, repo.Status.Conditions)
			}
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		applyGitRepo(t, "wrong-creds", "https://github.com/stefanprodan/podinfo", "master", "wrong-credentials", "1m")
		cond := waitFailed(t, c, "wrong-creds")
		for _, want := range []string{"github.com/stefanprodan/podinfo", "master"} {
			if !strings.Contains(cond.Message, want) {
				t.Errorf("Ready message %q does not name %q", cond.Message, want)
			}
		}
	})

	t.Run("unknown branch", func(t *testing.T) {
		applyGitRepo(t, "unknown-branch", "https://github.com/stefanprodan/podinfo", "does-not-exist", "https-credentials", "1m")
		cond := waitFailed(t, c, "unknown-branch")
		if !strings.Contains(cond.Message, "does-not-exist") || !strings.Contains(cond.Message, "github.com/stefanprodan/podinfo") {
			t.Errorf("Ready message %q does not name the branch and URL", cond.Message)
		}
	})

	t.Run("unreachable server keeps the previous artifact", func(t *testing.T) {
		applyGitRepo(t, "flaky", "https://flaky.example.com/flaky.git", "master", "", "2s")
		before := waitReady(t, c, "flux-system", "flaky", 60*time.Second).Status.Artifact
		flaky.Stop()
		cond := waitFailed(t, c, "flaky")
		if !strings.Contains(cond.Message, "flaky.example.com/flaky.git") {
			t.Errorf("Ready message %q does not name the URL", cond.Message)
		}
		var repo sourcev1.GitRepository
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "flux-system", Name: "flaky"}, &repo); err != nil {
			t.Fatal(err)
		}
		if repo.Status.Artifact == nil || repo.Status.Artifact.Digest != before.Digest {
			t.Fatalf("artifact changed after a failed fetch: %+v, was %+v", repo.Status.Artifact, before)
		}
		if got := artifactFiles(t, before.URL); len(got) != 1 {
			t.Errorf("previous artifact no longer downloadable: %v", got)
		}
	})

	t.Run("a push is picked up within the interval", func(t *testing.T) {
		applyGitRepo(t, "push", "https://github.com/stefanprodan/podinfo", "master", "https-credentials", "3s")
		waitReady(t, c, "flux-system", "push", 60*time.Second)
		next := podinfo.Commit(t, "master", map[string]string{"deploy/webapp/extra.yaml": "kind: ConfigMap\n"}, "add extra")
		waitRevision(t, c, "push", "master@sha1:"+next, 15*time.Second)
	})

	t.Run("requestedAt annotation fetches at once", func(t *testing.T) {
		applyGitRepo(t, "requested", "https://github.com/stefanprodan/podinfo", "master", "https-credentials", "1h")
		waitReady(t, c, "flux-system", "requested", 60*time.Second)
		next := podinfo.Commit(t, "master", map[string]string{"deploy/webapp/requested.yaml": "kind: ConfigMap\n"}, "requested")
		stamp := time.Now().Format(time.RFC3339Nano)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, stamp)
		repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "requested"}}
		if err := c.Patch(context.Background(), repo, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			t.Fatal(err)
		}
		got := waitRevision(t, c, "requested", "master@sha1:"+next, 15*time.Second)
		if got.Status.LastHandledReconcileAt != stamp {
			t.Errorf("lastHandledReconcileAt = %q, want %q", got.Status.LastHandledReconcileAt, stamp)
		}
	})

	t.Run("CVE-2022-24348: symlink leaving the repository is refused", func(t *testing.T) {
		applyGitRepo(t, "escape", "https://github.com/example/escape.git", "master", "https-credentials", "1m")
		cond := waitFailed(t, c, "escape")
		if !strings.Contains(cond.Message, "deploy/passwd") {
			t.Errorf("Ready message %q does not name the symlink", cond.Message)
		}
		// Where Tether keeps its checkouts is nobody's business (and a
		// path oracle, CVE-2026-47680).
		if strings.Contains(cond.Message, ".git-cache") || strings.Contains(cond.Message, "/checkouts/") {
			t.Errorf("Ready message %q reveals Tether's own folders", cond.Message)
		}
	})

	t.Run("artifact over the size limit fails clearly", func(t *testing.T) {
		applyGitRepo(t, "big", "https://github.com/example/big.git", "master", "https-credentials", "1m")
		cond := waitFailed(t, c, "big")
		if !strings.Contains(cond.Message, "size") || !strings.Contains(cond.Message, "limit") {
			t.Errorf("Ready message %q does not say the size limit was exceeded", cond.Message)
		}
	})

	t.Run("an invalid semver range stalls until the spec changes", func(t *testing.T) {
		applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: bad-semver, namespace: flux-system}
spec: {interval: 1m, url: https://github.com/stefanprodan/podinfo, ref: {semver: "not a range!"}, secretRef: {name: https-credentials}}
`)
		cond := waitFailed(t, c, "bad-semver")
		repo, err := getRepo(context.Background(), c, "flux-system", "bad-semver")
		if err != nil {
			t.Fatal(err)
		}
		if !apimeta.IsStatusConditionTrue(repo.Status.Conditions, "Stalled") || !strings.Contains(cond.Message, "not a range!") {
			t.Errorf("want Stalled=True naming the range; conditions %+v", repo.Status.Conditions)
		}
	})

	t.Run("credentials never appear in logs, events or status", func(t *testing.T) {
		if !strings.Contains(tether.Logs.String(), "reconcile failed") {
			t.Errorf("tether logged no failure; the log check would prove nothing")
		}
		for _, secret := range []string{gitPassword, "not-the-" + gitPassword} {
			checkNoSecret(t, c, secret)
			for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
				if strings.Contains(tether.Logs.String(), form) {
					t.Errorf("tether's logs contain a credential")
				}
			}
		}
	})
}

// TestGitRepositoryFetchesOncePerInterval creates 50 GitRepositories on one
// URL and branch and checks the server saw one upload-pack.
func TestGitRepositoryFetchesOncePerInterval(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "shared")
	repo.Commit(t, "master", podinfoFiles(t), "init")
	startTether(t, "--url-rewrite", "https://shared.example.com/="+srv.URL+"/")

	const n = 50
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: shared-%02d, namespace: flux-system}
spec: {interval: 10m, url: https://shared.example.com/shared.git, ref: {branch: master}}`, i))
	}
	applyYAML(t, strings.Join(docs, "\n---\n"))
	for i := range n {
		waitReady(t, c, "flux-system", fmt.Sprintf("shared-%02d", i), 2*time.Minute)
	}
	if got := srv.UploadPacks("shared.git"); got != 1 {
		t.Errorf("%d GitRepositories caused %d upload-packs, want 1", n, got)
	}
	lsRemotes := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "shared.git/info/refs") {
			lsRemotes++
		}
	}
	t.Logf("%d GitRepositories: %d upload-pack, %d ref advertisements", n, srv.UploadPacks("shared.git"), lsRemotes)
	if lsRemotes > 5 {
		t.Errorf("%d GitRepositories caused %d ref advertisements, want a handful", n, lsRemotes)
	}
}

func gitGitServerOptions() gitserver.Options {
	return gitserver.Options{Username: gitUser, Password: gitPassword}
}

func applyGitRepo(t *testing.T, name, url, branch, secret, interval string) {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: GitRepository
metadata: {name: %s, namespace: flux-system}
spec:
  interval: %s
  url: %s
  ref: {branch: %s}
`, name, interval, url, branch)
	if secret != "" {
		doc += fmt.Sprintf("  secretRef: {name: %s}\n", secret)
	}
	applyYAML(t, doc)
}

func createSecret(t *testing.T, c client.Client, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := c.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func getRepo(ctx context.Context, c client.Client, ns, name string) (*sourcev1.GitRepository, error) {
	var repo sourcev1.GitRepository
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &repo)
	return &repo, err
}

func waitReady(t *testing.T, c client.Client, ns, name string, timeout time.Duration) *sourcev1.GitRepository {
	t.Helper()
	var repo *sourcev1.GitRepository
	eventually(t, timeout, "GitRepository "+name+" Ready", func(ctx context.Context) error {
		var err error
		if repo, err = getRepo(ctx, c, ns, name); err != nil {
			return err
		}
		cond := apimeta.FindStatusCondition(repo.Status.Conditions, "Ready")
		if cond == nil || cond.Status != metav1.ConditionTrue || repo.Status.Artifact == nil {
			return fmt.Errorf("Ready = %+v", cond)
		}
		return nil
	})
	return repo
}

func waitFailed(t *testing.T, c client.Client, name string) *metav1.Condition {
	t.Helper()
	var cond *metav1.Condition
	eventually(t, 60*time.Second, "GitRepository "+name+" Ready=False", func(ctx context.Context) error {
		repo, err := getRepo(ctx, c, "flux-system", name)
		if err != nil {
			return err
		}
		cond = apimeta.FindStatusCondition(repo.Status.Conditions, "Ready")
		if cond == nil || cond.Status != metav1.ConditionFalse {
			return fmt.Errorf("Ready = %+v", cond)
		}
		return nil
	})
	t.Logf("%s: Ready=False %s: %s", name, cond.Reason, cond.Message)
	return cond
}

func waitRevision(t *testing.T, c client.Client, name, revision string, timeout time.Duration) *sourcev1.GitRepository {
	t.Helper()
	var repo *sourcev1.GitRepository
	eventually(t, timeout, "GitRepository "+name+" at "+revision, func(ctx context.Context) error {
		var err error
		if repo, err = getRepo(ctx, c, "flux-system", name); err != nil {
			return err
		}
		if repo.Status.Artifact == nil || repo.Status.Artifact.Revision != revision {
			return fmt.Errorf("artifact = %+v", repo.Status.Artifact)
		}
		return nil
	})
	return repo
}

// artifactFiles downloads a tar.gz artifact and lists its regular files.
func artifactFiles(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("download artifact: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download artifact %s: %s", url, resp.Status)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var files []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
		}
	}
	sort.Strings(files)
	return files
}

// checkNoSecret fails when s appears in any GitRepository's status, any
// event of flux-system, or tether's logs.
func checkNoSecret(t *testing.T, c client.Client, s string) {
	t.Helper()
	ctx := context.Background()
	var repos sourcev1.GitRepositoryList
	if err := c.List(ctx, &repos); err != nil {
		t.Fatal(err)
	}
	for _, r := range repos.Items {
		if strings.Contains(fmt.Sprintf("%+v", r.Status), s) {
			t.Errorf("GitRepository %s status contains a credential", r.Name)
		}
	}
	var events corev1.EventList
	if err := c.List(ctx, &events, client.InNamespace("flux-system")); err != nil {
		t.Fatal(err)
	}
	if len(events.Items) == 0 {
		t.Errorf("no events recorded in flux-system; the check would prove nothing")
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, s) {
			t.Errorf("event %s contains a credential", e.Name)
		}
	}
}

func randomText(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	x := uint64(88172645463325252)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = alphabet[x%uint64(len(alphabet))]
	}
	return string(b)
}

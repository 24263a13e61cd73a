package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/sops/sopstest"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// The values the test encrypts: none may appear anywhere but in the
// applied Secrets.
const (
	sopsDBPassword = "s0ps-db-password-4f1c9e"
	sopsAPIKey     = "s0ps-api-key-77d2ab"
)

// sopsFiles is a Flux user's folder app: an encrypted Secret manifest
// (data fields only, as `sops --encrypted-regex '^(data|stringData)$'`
// writes it) and a secretGenerator fed by an encrypted dotenv file.
func sopsFiles(t *testing.T, recipient string) map[string]string {
	secret := `apiVersion: v1
kind: Secret
metadata:
  name: sops-db
type: Opaque
stringData:
  password: ` + sopsDBPassword + "\n"
	return map[string]string{
		"app/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- db.yaml
secretGenerator:
- name: sops-api
  envs:
  - api.env
generatorOptions:
  disableNameSuffixHash: true
`,
		"app/db.yaml": string(sopstest.Encrypt(t, "db.yaml", []byte(secret), sopstest.Options{AgeRecipients: []string{recipient}, EncryptedRegex: "^(data|stringData)$"})),
		"app/api.env": string(sopstest.Encrypt(t, "api.env", []byte("API_KEY="+sopsAPIKey+"\nMODE=live\n"), sopstest.Options{AgeRecipients: []string{recipient}})),
	}
}

// sopsKustomization is a Kustomization (of apiVersion) of the folder app
// into namespace default with namePrefix prefix, decrypting with the keys
// of Secret keys ("" for no spec.decryption).
func sopsKustomization(apiVersion, name, prefix, keys string) string {
	decryption := ""
	if prefix != "" {
		decryption += fmt.Sprintf("\n  namePrefix: %s", prefix)
	}
	if keys != "" {
		decryption = fmt.Sprintf("\n  decryption: {provider: sops, secretRef: {name: %s}}", keys)
	}
	return fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/%s
kind: Kustomization
metadata: {name: %s, namespace: flux-system}
spec:
  interval: 1m
  path: ./app
  prune: true
  targetNamespace: default
  sourceRef: {kind: GitRepository, name: sops}%s
`, apiVersion, name, decryption)
}

// TestKustomizationSOPS: a Kustomization with spec.decryption applies
// the decrypted Secret and the Secret generated from an encrypted dotenv
// file; without decryption, or with a key that does not open the files,
// it fails naming the file and writes nothing; the plaintext appears in
// no status, event, log line or artifact.
func TestKustomizationSOPS(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	identity, recipient := sopstest.AgeKey(t)
	stranger, _ := sopstest.AgeKey(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "sops")
	repo.Commit(t, "main", sopsFiles(t, recipient), "encrypted secrets")
	storage := t.TempDir()
	tether := startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--storage-path", storage)
	objs := applyYAML(t, `apiVersion: v1
kind: Secret
metadata: {name: sops-age, namespace: flux-system}
stringData:
  age.agekey: |
    # the cluster's key
    `+identity+`
---
apiVersion: v1
kind: Secret
metadata: {name: sops-stranger, namespace: flux-system}
stringData: {other.agekey: `+stranger+`}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: sops, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/sops.git, ref: {branch: main}}
---
`+sopsKustomization("v1beta2", "sops", "", "sops-age")+`---
`+sopsKustomization("v1", "sops-nokey", "nokey-", "")+`---
`+sopsKustomization("v1", "sops-wrongkey", "wrongkey-", "sops-stranger"))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
		for _, name := range []string{"sops-db", "sops-api"} {
			_ = c.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}})
		}
	})

	t.Run("spec.decryption applies the decrypted Secrets", func(t *testing.T) {
		waitKustomization(t, c, "flux-system", "sops", "True", 60*time.Second)
		var db, api corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "sops-db"}, &db); err != nil {
			t.Fatal(err)
		}
		if got := string(db.Data["password"]); got != sopsDBPassword {
			t.Errorf("sops-db password = %q, want the decrypted value", got)
		}
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "sops-api"}, &api); err != nil {
			t.Fatal(err)
		}
		if string(api.Data["API_KEY"]) != sopsAPIKey || string(api.Data["MODE"]) != "live" || len(api.Data) != 2 {
			t.Errorf("sops-api data = %v, want API_KEY and MODE decrypted, nothing else", slices.Sorted(maps.Keys(api.Data)))
		}
	})

	failed := func(t *testing.T, name string) *metav1.Condition {
		t.Helper()
		var cond *metav1.Condition
		eventually(t, 60*time.Second, name+" Ready=False BuildFailed", func(ctx context.Context) error {
			var ks kustomizev1.Kustomization
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: name}, &ks); err != nil {
				return err
			}
			cond = apimeta.FindStatusCondition(ks.Status.Conditions, "Ready")
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != "BuildFailed" {
				return fmt.Errorf("Ready %+v", cond)
			}
			if ks.Status.LastAppliedRevision != "" {
				return fmt.Errorf("applied %s", ks.Status.LastAppliedRevision)
			}
			return nil
		})
		return cond
	}
	nothingWritten := func(t *testing.T, prefix string) {
		t.Helper()
		for _, name := range []string{prefix + "sops-db", prefix + "sops-api"} {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
				t.Errorf("Secret default/%s written: %v", name, err)
			}
		}
	}

	t.Run("without spec.decryption it fails naming the file", func(t *testing.T) {
		cond := failed(t, "sops-nokey")
		for _, part := range []string{"is SOPS-encrypted and no decryption is configured", "set spec.decryption"} {
			if !strings.Contains(cond.Message, part) {
				t.Errorf("message %q lacks %q", cond.Message, part)
			}
		}
		if !strings.Contains(cond.Message, "app/db.yaml") && !strings.Contains(cond.Message, "app/api.env") {
			t.Errorf("message %q names no encrypted file", cond.Message)
		}
		nothingWritten(t, "nokey-")
	})

	t.Run("a key that does not open the files fails naming the file", func(t *testing.T) {
		cond := failed(t, "sops-wrongkey")
		if !strings.Contains(cond.Message, "cannot decrypt with the keys of Secret 'flux-system/sops-stranger'") ||
			!(strings.Contains(cond.Message, "app/db.yaml") || strings.Contains(cond.Message, "app/api.env")) {
			t.Errorf("message %q: want the file and the Secret named", cond.Message)
		}
		nothingWritten(t, "wrongkey-")
	})

	t.Run("the plaintext appears nowhere else", func(t *testing.T) {
		secrets := []string{sopsDBPassword, sopsAPIKey}
		var list kustomizev1.KustomizationList
		if err := c.List(ctx, &list, client.InNamespace("flux-system")); err != nil {
			t.Fatal(err)
		}
		status, _ := json.Marshal(list)
		assertNoneIn(t, "Kustomization status", status, secrets)
		for _, ns := range []string{"flux-system", "default"} {
			var events corev1.EventList
			if err := c.List(ctx, &events, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(events)
			assertNoneIn(t, "events of "+ns, b, secrets)
		}
		assertNoneIn(t, "Tether's logs", []byte(tether.Logs.String()), secrets)
		files := 0
		err := filepath.WalkDir(storage, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			assertNoneIn(t, p, data, secrets)
			if strings.HasSuffix(p, ".tar.gz") {
				assertNoneIn(t, p+" (unpacked)", untarAll(t, data), secrets)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Fatal("the artifact storage is empty: nothing was checked")
		}
	})
}

// assertNoneIn fails when data holds any of secrets.
func assertNoneIn(t *testing.T, what string, data []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s holds a decrypted value", what)
		}
	}
}

// untarAll returns the contents of every file of the gzipped tarball data.
func untarAll(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	var out bytes.Buffer
	tr := tar.NewReader(zr)
	for {
		if _, err := tr.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("untar: %v", err)
		}
		if _, err := io.Copy(&out, tr); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() == 0 {
		t.Fatal("the artifact holds no file content")
	}
	return out.Bytes()
}

// sopsApp is an automated Application of folder path of the sops-apps
// repository in project proj, deployed to namespace ns.
func sopsApp(name, proj, path, ns string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  project: %s
  source: {repoURL: https://git.example.com/sops-apps.git, targetRevision: HEAD, path: %s}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, name, proj, path, ns)
}

// TestApplicationSOPS: an AppProject annotated with
// tether.gitops.dev/sops-decryption-secret lets its Applications apply
// SOPS-encrypted Secrets (a directory source and a kustomize source, the
// latter with an encrypted dotenv file); an app of a project without it
// fails with a ComparisonError naming the file and the opt-in, and
// applies nothing.
func TestApplicationSOPS(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	identity, recipient := sopstest.AgeKey(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "sops-apps")
	files := sopsFiles(t, recipient) // app/: kustomize, with a secretGenerator
	files["plain/db.yaml"] = files["app/db.yaml"]
	repo.Commit(t, "master", files, "encrypted secrets")
	tether := startTetherOn(t, srv)
	objs := applyYAML(t, `apiVersion: v1
kind: Secret
metadata: {name: sops-keys, namespace: argocd}
stringData:
  team.agekey: `+identity+`
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: sops
  namespace: argocd
  annotations: {tether.gitops.dev/sops-decryption-secret: sops-keys}
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
---
`+sopsApp("sops-directory", "sops", "plain", "sops-directory")+`---
`+sopsApp("sops-kustomize", "sops", "app", "sops-kustomize")+`---
`+sopsApp("sops-noproject", "default", "plain", "sops-noproject"))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})

	t.Run("the project's key opens directory and kustomize sources", func(t *testing.T) {
		for _, tc := range []struct{ app, ns string }{{"sops-directory", "sops-directory"}, {"sops-kustomize", "sops-kustomize"}} {
			waitApp(t, c, "argocd", tc.app, "", "Synced", "Healthy", 60*time.Second)
			var db corev1.Secret
			if err := c.Get(ctx, types.NamespacedName{Namespace: tc.ns, Name: "sops-db"}, &db); err != nil {
				t.Fatal(err)
			}
			if string(db.Data["password"]) != sopsDBPassword {
				t.Errorf("%s: sops-db password is not the decrypted value", tc.app)
			}
		}
		var api corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "sops-kustomize", Name: "sops-api"}, &api); err != nil {
			t.Fatal(err)
		}
		if string(api.Data["API_KEY"]) != sopsAPIKey {
			t.Errorf("sops-api data = %v, want API_KEY decrypted", slices.Sorted(maps.Keys(api.Data)))
		}
	})

	t.Run("without the opt-in it fails naming the file and applies nothing", func(t *testing.T) {
		app := waitCondition(t, c, "sops-noproject", argov1.ApplicationConditionComparisonError,
			"plain/db.yaml is SOPS-encrypted and no decryption is configured: annotate AppProject 'default' with tether.gitops.dev/sops-decryption-secret")
		if app.Status.Sync.Status == argov1.SyncStatusCodeSynced {
			t.Errorf("sync status %s", app.Status.Sync.Status)
		}
		if err := c.Get(ctx, types.NamespacedName{Namespace: "sops-noproject", Name: "sops-db"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
			t.Errorf("Secret sops-noproject/sops-db written: %v", err)
		}
		var apps argov1.ApplicationList
		if err := c.List(ctx, &apps, client.InNamespace("argocd")); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(apps)
		assertNoneIn(t, "Application status", b, []string{sopsDBPassword, sopsAPIKey})
	})

	t.Run("the API masks the decrypted Secrets (CVE-2018-21034)", func(t *testing.T) {
		api, admin := adminSession(t, c, tether)
		leaks := []string{sopsDBPassword, base64.StdEncoding.EncodeToString([]byte(sopsDBPassword)), sopsAPIKey, base64.StdEncoding.EncodeToString([]byte(sopsAPIKey))}
		for _, path := range []string{"/api/v1/applications/sops-kustomize/manifests", "/api/v1/applications/sops-kustomize/managed-resources", "/api/v1/applications/sops-kustomize"} {
			body := api.expect("GET", path, admin, nil, http.StatusOK)
			if !strings.Contains(string(body), "sops-db") {
				t.Errorf("%s does not show the Secret at all: nothing was checked", path)
			}
			assertNoneIn(t, path, body, leaks)
		}
	})
}

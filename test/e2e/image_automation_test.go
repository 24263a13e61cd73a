package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// fleetDeployment is the marked workload of the automation's repository.
const fleetDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: image-auto
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec:
      containers:
        - name: podinfod
          # the setter below is kept as written
          image: ghcr.io/stefanprodan/podinfo:6.0.0 # {"$imagepolicy": "flux-system:podinfo"}
`

// fleet are the GitRepository "flux-system" that seed 08 names and a
// Kustomization deploying ./clusters/my-cluster from it.
const fleet = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 5s
  url: https://git.example.com/fleet.git
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 5s
  path: ./clusters/my-cluster
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`

// TestImageAutomationSeed08: seed 08 as written, with Docker Hub mapped
// to a loopback registry holding podinfo 6.0.0, 6.0.1 and 6.1.0 and the
// fleet repository on a Git server that accepts pushes. The scan finds
// three tags, the policy (6.0.x) chooses 6.0.1, the automation rewrites
// the marked file under ./clusters/my-cluster, commits as fluxcdbot with
// the seed's message template rendered and pushes to main (after losing a
// race to another push, on the new head, never forcing), and a
// Kustomization deploys 6.0.1. A tag 6.0.2 pushed later goes the same way
// within one interval.
func TestImageAutomationSeed08(t *testing.T) {
	c := kubeClient(t)
	reg := testenv.NewImageRegistry(t)
	for _, tag := range []string{"6.0.0", "6.0.1", "6.1.0"} {
		reg.Push(t, "stefanprodan/podinfo", tag)
	}
	var (
		once      sync.Once
		repo      *gitserver.Repo
		theirs    string
		theirsSet = make(chan struct{})
	)
	srv := gitserver.New(t, gitserver.Options{BeforePush: func(string) {
		// The first push of the automation loses a race to this one.
		once.Do(func() {
			theirs = repo.Commit(t, "main", map[string]string{"README.md": "someone else was first\n"}, "someone else's change")
			close(theirsSet)
		})
	}})
	repo = srv.CreateRepo(t, "fleet")
	first := repo.Commit(t, "main", map[string]string{"clusters/my-cluster/podinfo.yaml": fleetDeployment}, "podinfo 6.0.0")
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "image-auto"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	startTether(t, "--url-rewrite", "oci://index.docker.io/=oci://"+reg.Host+"/",
		"--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--git-resolve-ttl", "1s")
	applyYAML(t, fleet)
	for _, o := range seedObjects(t, filepath.Join(seedDir, "08-flux-image-automation.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		om := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "flux-system", Name: name} }
		_ = c.Delete(ctx, &imagev1.ImageUpdateAutomation{ObjectMeta: om("flux-system")})
		_ = c.Delete(ctx, &imagev1.ImagePolicy{ObjectMeta: om("podinfo")})
		_ = c.Delete(ctx, &imagev1.ImageRepository{ObjectMeta: om("podinfo")})
		for _, o := range mustObjects(t, fleet) {
			_ = c.Delete(ctx, o)
		}
	})
	key := types.NamespacedName{Namespace: "flux-system", Name: "podinfo"}

	var imgRepo imagev1.ImageRepository
	eventually(t, 60*time.Second, "ImageRepository scanned", func(ctx context.Context) error {
		if err := c.Get(ctx, key, &imgRepo); err != nil {
			return err
		}
		if !conditions.IsTrue(&imgRepo, meta.ReadyCondition) || imgRepo.Status.LastScanResult == nil {
			return fmt.Errorf("conditions %+v", imgRepo.Status.Conditions)
		}
		return nil
	})
	if r := imgRepo.Status.LastScanResult; r.TagCount != 3 || imgRepo.Status.CanonicalImageName != "index.docker.io/stefanprodan/podinfo" ||
		strings.Join(r.LatestTags, ",") != "6.1.0,6.0.1,6.0.0" {
		t.Errorf("scan: canonical %q, %+v", imgRepo.Status.CanonicalImageName, r)
	}
	waitPolicy := func(tag string, timeout time.Duration) *imagev1.ImagePolicy {
		t.Helper()
		var pol imagev1.ImagePolicy
		eventually(t, timeout, "ImagePolicy at "+tag, func(ctx context.Context) error {
			if err := c.Get(ctx, key, &pol); err != nil {
				return err
			}
			if want := "index.docker.io/stefanprodan/podinfo:" + tag; pol.Status.LatestImage != want || !conditions.IsTrue(&pol, meta.ReadyCondition) {
				return fmt.Errorf("latestImage %q, conditions %+v", pol.Status.LatestImage, pol.Status.Conditions)
			}
			return nil
		})
		return &pol
	}
	pol := waitPolicy("6.0.1", 30*time.Second)
	if r := pol.Status.LatestRef; r == nil || r.Name != "index.docker.io/stefanprodan/podinfo" || r.Tag != "6.0.1" {
		t.Errorf("latestRef %+v", r)
	}

	// The automation pushes, after the race, on top of the other commit.
	waitDeployed := func(tag string, timeout time.Duration) {
		t.Helper()
		eventually(t, timeout, "podinfo deployed at "+tag, func(ctx context.Context) error {
			var dep appsv1.Deployment
			if err := c.Get(ctx, types.NamespacedName{Namespace: "image-auto", Name: "podinfo"}, &dep); err != nil {
				return err
			}
			if img := dep.Spec.Template.Spec.Containers[0].Image; img != "index.docker.io/stefanprodan/podinfo:"+tag {
				return fmt.Errorf("image %s", img)
			}
			return nil
		})
	}
	waitDeployed("6.0.1", 90*time.Second)
	<-theirsSet
	var auto imagev1.ImageUpdateAutomation
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "flux-system", Name: "flux-system"}, &auto); err != nil {
		t.Fatal(err)
	}
	pushed := auto.Status.LastPushCommit
	commit := readCommit(t, srv.URL+"/fleet.git", pushed)
	if commit.Author.Name != "fluxcdbot" || commit.Author.Email != "fluxcdbot@users.noreply.github.com" {
		t.Errorf("author %s <%s>", commit.Author.Name, commit.Author.Email)
	}
	for _, want := range []string{"Automated image update by FluxCD", "Automation name: flux-system/flux-system", "Image tag: 6.0.1",
		"Updated manifests:\n- podinfo.yaml\n"} {
		if !strings.Contains(commit.Message, want) {
			t.Errorf("commit message %q lacks %q", commit.Message, want)
		}
	}
	if len(commit.ParentHashes) != 1 || commit.ParentHashes[0].String() != theirs {
		t.Errorf("pushed commit's parent %v, want the other push %s (rebuilt on the new head, not forced over it)", commit.ParentHashes, theirs)
	}
	if theirs == first {
		t.Error("the race never happened")
	}
	if obs := auto.Status.ObservedPolicies["podinfo"]; obs.Tag != "6.0.1" {
		t.Errorf("observedPolicies %+v", auto.Status.ObservedPolicies)
	}
	content := readFile(t, srv.URL+"/fleet.git", pushed, "clusters/my-cluster/podinfo.yaml")
	if !strings.Contains(content, "          # the setter below is kept as written\n          image: index.docker.io/stefanprodan/podinfo:6.0.1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n") {
		t.Errorf("rewritten file:\n%s", content)
	}

	// A new tag goes the same way within the scan interval (1m).
	reg.Push(t, "stefanprodan/podinfo", "6.0.2")
	start := time.Now()
	waitPolicy("6.0.2", 90*time.Second)
	waitDeployed("6.0.2", 60*time.Second)
	t.Logf("6.0.2 deployed %s after it was pushed to the registry", time.Since(start).Round(time.Second))
}

// readCommit clones url and returns the commit sha.
func readCommit(t *testing.T, url, sha string) *object.Commit {
	t.Helper()
	r, err := gogit.PlainClone(t.TempDir(), true, &gogit.CloneOptions{URL: url, ReferenceName: plumbing.NewBranchReferenceName("main")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		t.Fatalf("commit %s: %v", sha, err)
	}
	return c
}

// readFile returns a file's content at commit sha of url.
func readFile(t *testing.T, url, sha, path string) string {
	t.Helper()
	c := readCommit(t, url, sha)
	f, err := c.File(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// updaterApp is an automated Application of the kustomize folder "app"
// with Argo CD Image Updater's annotations for podinfo ~6.0.
func updaterApp(name, writeBack string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: podinfo=stefanprodan/podinfo:~6.0
    argocd-image-updater.argoproj.io/podinfo.update-strategy: semver
    argocd-image-updater.argoproj.io/write-back-method: %s
    argocd-image-updater.argoproj.io/git-branch: main
spec:
  project: default
  source: {repoURL: "https://git.example.com/updater.git", targetRevision: main, path: app, kustomize: {namePrefix: %s-}}
  destination: {server: "https://kubernetes.default.svc", namespace: image-updater}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
`, name, writeBack, name)
}

// TestArgoImageUpdater: Applications with Argo CD Image Updater's
// annotations get podinfo 6.0.1 (semver ~6.0 of 6.0.0/6.0.1/6.1.0): one by
// parameter write-back (spec.source.kustomize.images), one by a commit of
// .argocd-source-<app>.yaml that the Application then renders.
func TestArgoImageUpdater(t *testing.T) {
	c := kubeClient(t)
	reg := testenv.NewImageRegistry(t)
	for _, tag := range []string{"6.0.0", "6.0.1", "6.1.0"} {
		reg.Push(t, "stefanprodan/podinfo", tag)
	}
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "updater")
	repo.Commit(t, "main", map[string]string{
		"app/kustomization.yaml": "resources: [deployment.yaml]\n",
		"app/deployment.yaml":    strings.Replace(strings.Replace(fleetDeployment, "  namespace: image-auto\n", "", 1), "ghcr.io/stefanprodan/podinfo:6.0.0", "stefanprodan/podinfo:6.0.0", 1),
	}, "podinfo 6.0.0")
	startTether(t, "--url-rewrite", "oci://index.docker.io/=oci://"+reg.Host+"/", "--url-rewrite", "https://git.example.com/="+srv.URL+"/",
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s", "--image-updater-interval", "5s")
	applyYAML(t, updaterApp("by-params", "argocd"))
	applyYAML(t, updaterApp("by-git", "git"))
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", "by-params")
		deleteApp(t, c, "argocd", "by-git")
	})
	deployed := func(name string) {
		t.Helper()
		eventually(t, 90*time.Second, name+" runs podinfo 6.0.1", func(ctx context.Context) error {
			var dep appsv1.Deployment
			if err := c.Get(ctx, types.NamespacedName{Namespace: "image-updater", Name: name + "-podinfo"}, &dep); err != nil {
				return err
			}
			if img := dep.Spec.Template.Spec.Containers[0].Image; img != "stefanprodan/podinfo:6.0.1" {
				return fmt.Errorf("image %s", img)
			}
			return nil
		})
	}
	deployed("by-params")
	deployed("by-git")

	var app argov1.Application
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "by-params"}, &app); err != nil {
		t.Fatal(err)
	}
	if imgs := app.Spec.Source.Kustomize.Images; len(imgs) != 1 || imgs[0] != "stefanprodan/podinfo:6.0.1" {
		t.Errorf("by-params kustomize images %v", imgs)
	}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "by-git"}, &app); err != nil {
		t.Fatal(err)
	}
	if len(app.Spec.Source.Kustomize.Images) != 0 {
		t.Errorf("by-git's spec changed: %v", app.Spec.Source.Kustomize.Images)
	}
	head := repo.Head(t, "main")
	commit := readCommit(t, srv.URL+"/updater.git", head)
	if commit.Author.Name != "argocd-image-updater" || !strings.Contains(commit.Message, "automatic update of by-git") {
		t.Errorf("head commit by %s: %q", commit.Author.Name, commit.Message)
	}
	if got := readFile(t, srv.URL+"/updater.git", head, "app/.argocd-source-by-git.yaml"); !strings.Contains(got, "stefanprodan/podinfo:6.0.1") {
		t.Errorf(".argocd-source-by-git.yaml:\n%s", got)
	}
}

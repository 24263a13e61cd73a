package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// doublingKustomization is a Kustomize tree whose top level (dir/l<levels>)
// includes the level below twice, down to one ConfigMap: the build's work
// doubles with each level (12 levels: several seconds of CPU, 4,096
// objects).
func doublingKustomization(dir string, levels int) map[string]string {
	kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	files := map[string]string{
		dir + "/l0/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
		dir + "/l0/kustomization.yaml": kustomization + "resources: [cm.yaml]\n",
	}
	for i := 1; i <= levels; i++ {
		files[fmt.Sprintf("%s/l%d/kustomization.yaml", dir, i)] = kustomization + "resources: [a, b]\n"
		for _, side := range []string{"a", "b"} {
			files[fmt.Sprintf("%s/l%d/%s/kustomization.yaml", dir, i, side)] = kustomization + fmt.Sprintf("namePrefix: %s-\nresources: [../../l%d]\n", side, i-1)
		}
	}
	return files
}

// TestBoundsOnCheckoutsAndRenders: a repository over the checkout limits
// (set low here) is refused with a clear error and leaves nothing in
// storage; a Kustomization whose build runs past --render-timeout fails
// naming its path and the deadline, while another Kustomization of the
// same repository keeps rendering and becomes Ready.
func TestBoundsOnCheckoutsAndRenders(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	bomb := srv.CreateRepo(t, "many-files")
	files := map[string]string{}
	for i := range 150 {
		files[fmt.Sprintf("f/%02d.yaml", i)] = "same content, one blob\n"
	}
	bomb.Commit(t, "master", files, "more files than allowed")
	bounded := srv.CreateRepo(t, "bounded")
	slowAndFast := doublingKustomization("slow", 12)
	slowAndFast["fast/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fast-settings, namespace: default}\ndata: {a: b}\n"
	head := bounded.Commit(t, "master", slowAndFast, "a slow and a fast path")
	storage := t.TempDir()
	startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--storage-path", storage,
		"--git-max-files", "120", "--render-timeout", "1s")
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: many-files, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/many-files.git, ref: {branch: master}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: bounded, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/bounded.git, ref: {branch: master}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: slow-render, namespace: flux-system}
spec: {interval: 1m, path: ./slow/l12, prune: true, targetNamespace: default, sourceRef: {kind: GitRepository, name: bounded}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: fast-render, namespace: flux-system}
spec: {interval: 1m, path: ./fast, prune: true, sourceRef: {kind: GitRepository, name: bounded}}
`)
	t.Cleanup(func() {
		for _, name := range []string{"slow-render", "fast-render"} {
			_ = c.Delete(context.Background(), getKustomization(t, c, "flux-system", name))
		}
		for _, name := range []string{"many-files", "bounded"} {
			if repo, err := getRepo(context.Background(), c, "flux-system", name); err == nil {
				_ = c.Delete(context.Background(), repo)
			}
		}
	})

	t.Run("a repository over the checkout limit is refused; nothing stored", func(t *testing.T) {
		cond := waitFailed(t, c, "many-files")
		if !strings.Contains(cond.Message, "more than 120 files") || !strings.Contains(cond.Message, "limit") {
			t.Errorf("Ready message %q does not say the checkout limit was exceeded", cond.Message)
		}
		repo, err := getRepo(context.Background(), c, "flux-system", "many-files")
		if err != nil {
			t.Fatal(err)
		}
		if repo.Status.Artifact != nil {
			t.Errorf("an artifact was stored: %+v", repo.Status.Artifact)
		}
		// Once the other repository is checked out, no clone is in flight:
		// the cache holds that one repository's checkout and nothing else.
		waitReady(t, c, "flux-system", "bounded", time.Minute)
		cache := filepath.Join(storage, ".git-cache")
		var tmp []string
		_ = filepath.WalkDir(filepath.Join(cache, "tmp"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				tmp = append(tmp, p)
			}
			return nil
		})
		urls, _ := os.ReadDir(filepath.Join(cache, "checkouts"))
		if len(tmp) > 0 || len(urls) != 1 {
			t.Errorf("after the refusal the Git cache holds %d scratch files and checkouts of %d repositories, want 0 and 1", len(tmp), len(urls))
		}
		if _, err := os.Stat(filepath.Join(storage, "gitrepository", "flux-system", "many-files")); !os.IsNotExist(err) {
			t.Errorf("an artifact folder exists for the refused repository (err %v)", err)
		}
	})

	t.Run("a render past the deadline fails clearly; another keeps rendering", func(t *testing.T) {
		waitReady(t, c, "flux-system", "bounded", time.Minute)
		ks := waitKustomization(t, c, "flux-system", "fast-render", "True", time.Minute)
		if ks.Status.LastAppliedRevision != "master@sha1:"+head {
			t.Errorf("fast-render at %q", ks.Status.LastAppliedRevision)
		}
		// Until the source has an artifact the Kustomization fails for
		// that; wait for the build's own failure.
		eventually(t, time.Minute, "slow-render fails its build", func(ctx context.Context) error {
			ks := getKustomization(t, c, "flux-system", "slow-render")
			cond := apimeta.FindStatusCondition(ks.Status.Conditions, "Ready")
			if cond == nil || cond.Status != "False" || cond.Reason != "BuildFailed" {
				return fmt.Errorf("Ready = %+v", cond)
			}
			if !strings.Contains(cond.Message, "slow/l12") || !strings.Contains(cond.Message, "deadline") || !strings.Contains(cond.Message, "1s") {
				t.Errorf("Ready message %q does not name the path and the deadline", cond.Message)
			}
			return nil
		})
		if apimeta.IsStatusConditionTrue(ks.Status.Conditions, "Stalled") {
			t.Errorf("fast-render stalled: %+v", ks.Status.Conditions)
		}
	})
}

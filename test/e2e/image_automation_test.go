package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/testenv"
)

// TestImagePolicySeed08: seed 08's ImageRepository and ImagePolicy as
// written, with Docker Hub mapped to a loopback registry holding podinfo
// 6.0.0, 6.0.1 and 6.1.0: the scan finds three tags and the policy
// (semver 6.0.x) chooses 6.0.1; a tag 6.0.2 pushed later is chosen within
// one interval (the seed's 1m).
func TestImagePolicySeed08(t *testing.T) {
	c := kubeClient(t)
	reg := testenv.NewImageRegistry(t)
	for _, tag := range []string{"6.0.0", "6.0.1", "6.1.0"} {
		reg.Push(t, "stefanprodan/podinfo", tag)
	}
	startTether(t, "--url-rewrite", "oci://index.docker.io/=oci://"+reg.Host+"/")
	for _, o := range seedObjects(t, filepath.Join(seedDir, "08-flux-image-automation.yaml")) {
		if o.GetKind() == "ImageRepository" || o.GetKind() == "ImagePolicy" {
			checkAppliedAsWritten(t, newApplier(t), o)
		}
	}
	key := types.NamespacedName{Namespace: "flux-system", Name: "podinfo"}
	t.Cleanup(func() {
		om := metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}
		_ = c.Delete(context.Background(), &imagev1.ImagePolicy{ObjectMeta: om})
		_ = c.Delete(context.Background(), &imagev1.ImageRepository{ObjectMeta: om})
	})

	var repo imagev1.ImageRepository
	eventually(t, 60*time.Second, "ImageRepository scanned", func(ctx context.Context) error {
		if err := c.Get(ctx, key, &repo); err != nil {
			return err
		}
		if !conditions.IsTrue(&repo, meta.ReadyCondition) || repo.Status.LastScanResult == nil {
			return fmt.Errorf("conditions %+v", repo.Status.Conditions)
		}
		return nil
	})
	if r := repo.Status.LastScanResult; r.TagCount != 3 || repo.Status.CanonicalImageName != "index.docker.io/stefanprodan/podinfo" ||
		strings.Join(r.LatestTags, ",") != "6.1.0,6.0.1,6.0.0" {
		t.Errorf("scan: canonical %q, %+v", repo.Status.CanonicalImageName, r)
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

	reg.Push(t, "stefanprodan/podinfo", "6.0.2")
	pushed := time.Now()
	pol = waitPolicy("6.0.2", 90*time.Second)
	t.Logf("6.0.2 chosen %s after the push (interval 1m)", time.Since(pushed).Round(time.Second))
	if pol.Status.ObservedPreviousRef == nil || pol.Status.ObservedPreviousRef.Tag != "6.0.1" {
		t.Errorf("observedPreviousRef %+v, want 6.0.1", pol.Status.ObservedPreviousRef)
	}
}

package lifecycle

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv"
)

// TestPatchStatusIsGuarded: a status computed from the stored one is
// written even when the spec or metadata changed meanwhile; a status
// computed from one that another writer has since replaced is not.
func TestPatchStatusIsGuarded(t *testing.T) {
	if env == nil {
		t.Skip("needs a control plane (not with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	crd, _ := filepath.Glob("../../../config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml")
	if err := testenv.InstallCRDs(ctx, env.Config, crd...); err != nil {
		t.Fatal(err)
	}
	c, err := env.Client()
	if err != nil {
		t.Fatal(err)
	}
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "guarded", Namespace: "default"},
		Spec: sourcev1.GitRepositorySpec{URL: "https://git.example.com/a.git", Interval: metav1.Duration{Duration: time.Minute}}}
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	read := func() *sourcev1.GitRepository {
		var got sourcev1.GitRepository
		if err := c.Get(ctx, client.ObjectKeyFromObject(repo), &got); err != nil {
			t.Fatal(err)
		}
		return &got
	}
	withStatus := func(from *sourcev1.GitRepository, rev string) *sourcev1.GitRepository {
		obj := from.DeepCopy()
		obj.Status.Artifact = &meta.Artifact{Path: "p", URL: "http://x/p", Revision: rev, Digest: "sha256:0", LastUpdateTime: metav1.Now()}
		return obj
	}

	// A user annotates the object after this writer read it: the status it
	// computed is still based on what is stored, so it is written.
	before := read()
	annotated := before.DeepCopy()
	annotated.Annotations = map[string]string{"example.com/touched": "yes"}
	if err := c.Update(ctx, annotated); err != nil {
		t.Fatal(err)
	}
	if err := PatchStatus(ctx, c, c, before, withStatus(before, "main@sha1:one")); err != nil {
		t.Fatalf("a metadata change refused the status write: %v", err)
	}
	if got := read(); got.Status.Artifact == nil || got.Status.Artifact.Revision != "main@sha1:one" || got.Annotations["example.com/touched"] != "yes" {
		t.Fatalf("stored %+v %v: want the new status and the user's annotation", got.Status.Artifact, got.Annotations)
	}

	// Two writers read the same version; the second one's status was
	// computed from a status that the first replaced: it is refused and
	// the first one's status stays.
	stale := read()
	if err := PatchStatus(ctx, c, c, stale, withStatus(stale, "main@sha1:two")); err != nil {
		t.Fatal(err)
	}
	err = PatchStatus(ctx, c, c, stale, withStatus(stale, "main@sha1:late"))
	if !errors.Is(err, ErrStatusChanged) || !apierrors.IsConflict(err) {
		t.Fatalf("stale write: err %v, want ErrStatusChanged and a Conflict", err)
	}
	if got := read(); got.Status.Artifact.Revision != "main@sha1:two" {
		t.Errorf("stored revision %s after a refused stale write, want main@sha1:two", got.Status.Artifact.Revision)
	}
}

package git

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestWorkspaceCommitAndPush: a clone's commit reaches the server; a push
// after someone else pushed is a non-fast-forward, never forced; a forced
// refspec is refused before anything is sent.
func TestWorkspaceCommitAndPush(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "auto")
	repo.Commit(t, "main", map[string]string{"app/tag.yaml": "tag: 1\n"}, "first")
	f := newFetcher(t, Options{})

	w, err := f.Clone(testCtx(t), repo.URL, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.WriteFile(filepath.Join(w.Dir, "app/tag.yaml"), []byte("tag: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sha, err := w.Commit(Signature{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"}, "bump", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Push(testCtx(t), "", "", nil); err != nil {
		t.Fatal(err)
	}
	if head := repo.Head(t, "main"); head != sha {
		t.Fatalf("server head %s, want the pushed %s", head, sha)
	}

	// Another branch by refspec.
	if err := w.Push(testCtx(t), "", "refs/heads/main:refs/heads/auto-updates", nil); err != nil {
		t.Fatal(err)
	}
	if head := repo.Head(t, "auto-updates"); head != sha {
		t.Errorf("auto-updates at %s, want %s", head, sha)
	}

	// Someone pushes meanwhile: a stale clone's push is refused.
	stale, err := f.Clone(testCtx(t), repo.URL, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	theirs := repo.Commit(t, "main", map[string]string{"other.yaml": "x: 1\n"}, "someone else")
	if err := os.WriteFile(filepath.Join(stale.Dir, "app/tag.yaml"), []byte("tag: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := stale.Commit(Signature{Name: "bot", Email: "bot@example.com"}, "bump again", nil); err != nil {
		t.Fatal(err)
	}
	if err := stale.Push(testCtx(t), "", "", nil); !errors.Is(err, ErrNonFastForward) {
		t.Fatalf("stale push: %v, want ErrNonFastForward", err)
	}
	if head := repo.Head(t, "main"); head != theirs {
		t.Errorf("server head %s after a refused push, want theirs %s", head, theirs)
	}
	err = stale.Push(testCtx(t), "", "+refs/heads/main:refs/heads/main", nil)
	if err == nil || !strings.Contains(err.Error(), "never force-pushes") {
		t.Errorf("forced refspec: %v", err)
	}
	if head := repo.Head(t, "main"); head != theirs {
		t.Errorf("server head %s after a forced refspec, want theirs %s", head, theirs)
	}
}

// TestSignedCommit: a key from an armored, passphrase-protected Secret
// signs the commit, and the signature verifies.
func TestSignedCommit(t *testing.T) {
	entity, err := openpgp.NewEntity("fluxcdbot", "", "fluxcdbot@users.noreply.github.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.PrivateKey.Encrypt([]byte("pass")); err != nil {
		t.Fatal(err)
	}
	var armored bytes.Buffer
	aw, err := armor.Encode(&armored, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.SerializePrivateWithoutSigning(aw, nil); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	if _, err := ReadSigningKey(armored.Bytes(), "wrong"); err == nil || strings.Contains(err.Error(), "PGP") {
		t.Errorf("wrong passphrase: %v", err)
	}
	key, err := ReadSigningKey(armored.Bytes(), "pass")
	if err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "signed")
	repo.Commit(t, "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	w, err := newFetcher(t, Options{}).Clone(testCtx(t), repo.URL, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.WriteFile(filepath.Join(w.Dir, "a.yaml"), []byte("a: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sha, err := w.Commit(Signature{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"}, "signed bump", key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	if err := entity.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	var armoredPub bytes.Buffer
	pw, _ := armor.Encode(&armoredPub, openpgp.PublicKeyType, nil)
	_, _ = pw.Write(pub.Bytes())
	pw.Close()
	if _, err := c.Verify(armoredPub.String()); err != nil {
		t.Errorf("the commit's signature does not verify: %v", err)
	}
}

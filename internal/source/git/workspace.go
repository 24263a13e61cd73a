package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrNonFastForward is returned by Workspace.Push when the remote branch
// moved since the clone: the caller clones again and redoes its change.
var ErrNonFastForward = errors.New("the remote branch moved since it was cloned (non-fast-forward)")

// Workspace is a writable clone of one branch, for commits that are
// pushed back (image update automation). Close removes it.
type Workspace struct {
	// Dir is the working tree.
	Dir string
	// Head is the commit that was cloned.
	Head string

	repo   *gogit.Repository
	remote *remote
	branch string
}

// Clone clones branch of url (after the rewrite) into a new temporary
// folder, with the Fetcher's size limits and timeout.
func (f *Fetcher) Clone(ctx context.Context, url, branch string, auth *Auth) (*Workspace, error) {
	r, err := f.newRemote("clone", url, Ref{Branch: branch}, auth)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tether-workspace-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	repo, err := gogit.PlainCloneContext(ctx, dir, false, &gogit.CloneOptions{URL: r.fetchURL, Auth: r.auth,
		ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true,
		CABundle: r.caBundle, ClientCert: r.clientCert, ClientKey: r.clientKey, Tags: gogit.NoTags})
	if err != nil {
		os.RemoveAll(dir)
		return nil, r.fail("clone", nil, err)
	}
	head, err := repo.Head()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("clone %s: read HEAD: %w", url, err)
	}
	return &Workspace{Dir: dir, Head: head.Hash().String(), repo: repo, remote: r, branch: branch}, nil
}

// Close removes the working tree.
func (w *Workspace) Close() error { return os.RemoveAll(w.Dir) }

// Signature is a commit's author.
type Signature struct {
	Name, Email string
}

// Commit stages every change in the working tree and commits it as
// author, signed with signer when set; it returns the commit's hash.
func (w *Workspace) Commit(author Signature, message string, signer *openpgp.Entity) (string, error) {
	wt, err := w.repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("stage changes: %w", err)
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	h, err := wt.Commit(message, &gogit.CommitOptions{Author: sig, Committer: sig, SignKey: signer})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	return h.String(), nil
}

// Push pushes HEAD to the remote: to refspec when set (its source must be
// a local ref such as "refs/heads/main" or "HEAD"), else to branch
// (the cloned one when empty). It never forces: a refspec starting with
// "+" is refused, and a remote that moved meanwhile gives
// ErrNonFastForward. options are push options (git push -o).
func (w *Workspace) Push(ctx context.Context, branch, refspec string, options map[string]string) error {
	if branch == "" {
		branch = w.branch
	}
	spec := config.RefSpec("HEAD:" + plumbing.NewBranchReferenceName(branch).String())
	if refspec != "" {
		if strings.HasPrefix(refspec, "+") {
			return fmt.Errorf("spec.git.push.refspec %q asks for a forced update; Tether never force-pushes", refspec)
		}
		spec = config.RefSpec(refspec)
		if err := spec.Validate(); err != nil {
			return fmt.Errorf("spec.git.push.refspec %q: %w", refspec, err)
		}
	}
	// HEAD is not a ref go-git pushes by that name: name the commit.
	head, err := w.repo.Head()
	if err != nil {
		return err
	}
	if err := w.repo.Storer.SetReference(plumbing.NewHashReference("refs/tether/push", head.Hash())); err != nil {
		return err
	}
	src, dst, _ := strings.Cut(spec.String(), ":")
	if src == "HEAD" || src == "refs/heads/"+w.branch || src == w.branch {
		spec = config.RefSpec("refs/tether/push:" + dst)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = w.repo.PushContext(ctx, &gogit.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: w.remote.auth,
		CABundle: w.remote.caBundle, ClientCert: w.remote.clientCert, ClientKey: w.remote.clientKey, Options: options, Force: false})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gogit.ErrNonFastForwardUpdate) || strings.Contains(err.Error(), "non-fast-forward") ||
		strings.Contains(err.Error(), "fetch first"):
		return ErrNonFastForward
	}
	return w.remote.fail("push", nil, err)
}

// ReadSigningKey reads an armored OpenPGP private key ("git.asc" in
// Flux's Secrets), decrypting it with passphrase when it is encrypted.
// Errors never quote the key.
func ReadSigningKey(armored []byte, passphrase string) (*openpgp.Entity, error) {
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil || len(list) == 0 {
		return nil, errors.New("signing key: not an armored OpenPGP key")
	}
	e := list[0]
	if e.PrivateKey == nil {
		return nil, errors.New("signing key: the key has no private part")
	}
	if e.PrivateKey.Encrypted {
		if err := e.PrivateKey.Decrypt([]byte(passphrase)); err != nil {
			return nil, errors.New("signing key: the passphrase does not decrypt it")
		}
	}
	return e, nil
}

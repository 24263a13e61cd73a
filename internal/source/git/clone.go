package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// fetchedRef is where a fetched reference lands in the scratch repository.
const fetchedRef = "refs/tether/fetched"

// fetchCommit fetches what Checkout needs of res.Commit into a bare
// scratch repository under work, and returns that repository. Every
// attempt uses a fresh repository: go-git cannot deepen a shallow one.
func (f *Fetcher) fetchCommit(ctx context.Context, r *remote, res Resolved, work string) (*gogit.Repository, error) {
	attempt := 0
	fetch := func(specs []config.RefSpec, depth int) (*gogit.Repository, error) {
		attempt++
		return f.fetch(ctx, r, filepath.Join(work, fmt.Sprintf("git-%d", attempt)), specs, depth)
	}
	commit := res.Commit
	if r.ref.kind() == kindCommit {
		if r.ref.Branch != "" {
			b := config.RefSpec("+refs/heads/" + r.ref.Branch + ":refs/heads/" + r.ref.Branch)
			repo, err := fetch([]config.RefSpec{b}, 0)
			return withCommit(repo, err, commit, "is not in the history of the branch")
		}
		repo, err := fetch([]config.RefSpec{byHash(commit)}, 1)
		if errors.Is(err, gogit.ErrExactSHA1NotSupported) {
			repo, err = fetch([]config.RefSpec{
				"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}, 0)
		}
		return withCommit(repo, err, commit, "is in no branch or tag")
	}
	name := strings.TrimSuffix(res.RefName, peeledSuffix)
	if name == "" {
		return nil, &kindedError{kind: ErrInvalid, err: errors.New("resolved reference has no RefName; pass what Resolve returned")}
	}
	repo, err := fetch([]config.RefSpec{config.RefSpec("+" + name + ":" + fetchedRef)}, 1)
	if err != nil {
		return nil, err
	}
	if tip, err := peeledTip(repo); err == nil && tip == commit {
		return repo, nil
	}
	// The reference moved since Resolve: fetch the commit itself, or the
	// reference's history when the server refuses fetches by hash.
	repo, err = fetch([]config.RefSpec{byHash(commit)}, 1)
	if errors.Is(err, gogit.ErrExactSHA1NotSupported) {
		repo, err = fetch([]config.RefSpec{config.RefSpec("+" + name + ":" + fetchedRef)}, 0)
	}
	return withCommit(repo, err, commit, "is not in the history of "+name)
}

// byHash is the refspec fetching one commit by its hash.
func byHash(commit string) config.RefSpec {
	return config.RefSpec(commit + ":refs/tether/commit")
}

// withCommit passes on a fetch's result after checking that it brought the
// commit; missing completes "commit <hash> ..." in the error.
func withCommit(repo *gogit.Repository, err error, commit, missing string) (*gogit.Repository, error) {
	if err != nil {
		return nil, err
	}
	if _, err := repo.CommitObject(plumbing.NewHash(commit)); err != nil {
		return nil, &kindedError{kind: ErrCommitNotFound, err: fmt.Errorf("commit %s %s", commit, missing)}
	}
	return repo, nil
}

// fetch fetches specs into a new bare repository at gitDir.
func (f *Fetcher) fetch(ctx context.Context, r *remote, gitDir string, specs []config.RefSpec, depth int) (*gogit.Repository, error) {
	f.stats.fetches.Add(1)
	if f.opts.OnRequest != nil {
		f.opts.OnRequest(r.url, "fetch")
	}
	storage := filesystem.NewStorage(osfs.New(gitDir, osfs.WithBoundOS()), cache.NewObjectLRUDefault())
	repo, err := gogit.Init(storage, nil)
	if err != nil {
		return nil, err
	}
	rem, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.fetchURL}, Fetch: specs})
	if err != nil {
		return nil, err
	}
	err = rem.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   specs,
		Depth:      depth,
		Tags:       gogit.NoTags,
		Auth:       r.auth,
		CABundle:   r.caBundle,
		ClientCert: r.clientCert,
		ClientKey:  r.clientKey,
	})
	f.stats.bytes.Add(packBytes(gitDir))
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil, err
	}
	return repo, nil
}

// packBytes sums the sizes of the pack files under gitDir.
func packBytes(gitDir string) int64 {
	packs, _ := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.pack"))
	var n int64
	for _, p := range packs {
		if info, err := os.Stat(p); err == nil {
			n += info.Size()
		}
	}
	return n
}

// peeledTip returns the commit the fetched reference points at, through
// annotated tags.
func peeledTip(repo *gogit.Repository) (string, error) {
	ref, err := repo.Storer.Reference(fetchedRef)
	if err != nil {
		return "", err
	}
	obj, err := repo.Object(plumbing.AnyObject, ref.Hash())
	for range 10 {
		if err != nil {
			return "", err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o.Hash.String(), nil
		case *object.Tag:
			obj, err = o.Object()
		default:
			return "", fmt.Errorf("%s points at a %s, not a commit", fetchedRef, obj.Type())
		}
	}
	return "", errors.New("too many nested tags")
}

// writeCommit writes the files of commit into the new directory dst. All
// writes go through an os.Root, so no entry can land outside dst, and
// symbolic links are created as links with their target as committed.
func writeCommit(repo *gogit.Repository, commit, dst string, b *budget) error {
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return err
	}
	tree, err := c.Tree()
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	return writeTree(repo, root, tree, "", 0, b)
}

// budget counts what a checkout has written against its limits.
type budget struct {
	files, maxFiles int
	bytes, maxBytes int64
}

// take accounts for one more entry of size bytes, or refuses it.
func (b *budget) take(size int64) error {
	b.files++
	b.bytes += size
	switch {
	case b.files > b.maxFiles:
		return &kindedError{kind: ErrTooLarge, err: fmt.Errorf("the commit has more than %d files and folders, the checkout limit", b.maxFiles)}
	case b.bytes > b.maxBytes:
		return &kindedError{kind: ErrTooLarge, err: fmt.Errorf("the commit's files hold more than %d bytes, the checkout limit", b.maxBytes)}
	}
	return nil
}

// maxTreeDepth bounds directory nesting, against malicious trees.
const maxTreeDepth = 256

// writeTree writes the entries of tree under the directory dir of root.
func writeTree(repo *gogit.Repository, root *os.Root, tree *object.Tree, dir string, depth int, b *budget) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("%s: directories nested deeper than %d", dir, maxTreeDepth)
	}
	for _, e := range tree.Entries {
		if err := checkName(e.Name); err != nil {
			return fmt.Errorf("%s: %w", path.Join(dir, e.Name), err)
		}
		name := path.Join(dir, e.Name)
		var size int64
		if e.Mode.IsFile() {
			var err error
			if size, err = repo.Storer.EncodedObjectSize(e.Hash); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if err := b.take(size); err != nil {
			return err
		}
		var err error
		switch e.Mode {
		case filemode.Dir:
			var sub *object.Tree
			if sub, err = repo.TreeObject(e.Hash); err == nil {
				if err = root.Mkdir(name, 0o755); err == nil {
					err = writeTree(repo, root, sub, name, depth+1, b)
				}
			}
		case filemode.Submodule: // not fetched; git leaves an empty directory
			err = root.Mkdir(name, 0o755)
		case filemode.Symlink:
			err = writeSymlink(repo, root, name, e.Hash)
		case filemode.Regular, filemode.Deprecated:
			err = writeFile(repo, root, name, e.Hash, 0o644)
		case filemode.Executable:
			err = writeFile(repo, root, name, e.Hash, 0o755)
		default:
			err = fmt.Errorf("unsupported file mode %s", e.Mode)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// checkName refuses tree entry names that could escape the directory or
// plant a repository in the checkout.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, "/\x00"):
		return errors.New("invalid file name in tree")
	case strings.EqualFold(name, ".git"):
		return errors.New("a .git entry in the tree is refused")
	}
	return nil
}

// writeFile writes one blob as a new file.
func writeFile(repo *gogit.Repository, root *os.Root, name string, hash plumbing.Hash, perm os.FileMode) error {
	blob, err := repo.BlobObject(hash)
	if err != nil {
		return err
	}
	rd, err := blob.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	fh, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(fh, rd)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxLinkTarget bounds the target of a symbolic link (Linux's PATH_MAX).
const maxLinkTarget = 4096

// writeSymlink creates a symbolic link whose target is the blob's content.
func writeSymlink(repo *gogit.Repository, root *os.Root, name string, hash plumbing.Hash) error {
	blob, err := repo.BlobObject(hash)
	if err != nil {
		return err
	}
	if blob.Size > maxLinkTarget {
		return fmt.Errorf("symbolic link target longer than %d bytes", maxLinkTarget)
	}
	rd, err := blob.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	target, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	return root.Symlink(string(target), name)
}

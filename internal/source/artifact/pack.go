package artifact

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"time"
)

// Modes written into every artifact, whatever the tree on disk has; the
// values are Flux's.
const (
	fileMode    = 0o600
	exeFileMode = 0o700
	dirMode     = 0o750
	linkMode    = 0o777
)

// epoch is the modification time of every entry, so that only content
// decides the digest.
var epoch = time.Unix(0, 0).UTC()

// ErrSizeLimit is matched (with errors.Is) by the errors that Pack and
// Unpack return when an artifact is larger than allowed.
var ErrSizeLimit = errors.New("size limit exceeded")

type sizeLimitError struct{ msg string }

func (e *sizeLimitError) Error() string        { return e.msg }
func (e *sizeLimitError) Is(target error) bool { return target == ErrSizeLimit }

// PackOptions say what Pack puts into the artifact.
type PackOptions struct {
	// Dir is the main tree, for example a Git checkout. Pack only reads it.
	Dir string
	// Includes are further trees mounted into the artifact, in order; a
	// later one wins where two overlap.
	Includes []Tree
	// Ignore holds extra ignore patterns in .sourceignore syntax (Flux's
	// spec.ignore). They rank above the tree's .sourceignore files, and any
	// pattern at all (from here or from a .sourceignore) replaces Flux's
	// default exclusions of images, archives and CI files; version control
	// files stay excluded.
	Ignore string
	// MaxSize is the largest compressed artifact, in bytes, that Pack
	// writes; 0 means no limit. Pack stops as soon as it is exceeded.
	MaxSize int64
}

// PackResult describes the archive that Pack wrote.
type PackResult struct {
	// Digest is "sha256:<hex>" of the tar.gz bytes.
	Digest string
	// Size is the number of tar.gz bytes.
	Size int64
	// Files is the number of regular files in the archive.
	Files int
}

// Pack writes the artifact of opts.Dir and opts.Includes to w as a tar.gz.
//
// Directories, regular files and symlinks are packed with fixed owners,
// modes and times, in a fixed order, so the same tree always gives the same
// bytes. A symlink is kept as it is when it resolves inside the artifact;
// one that leads outside (absolute, too many "..", or through another
// link) fails the pack with an error naming it, and is never followed.
// Other file types are skipped, and so are .git directories.
func Pack(ctx context.Context, w io.Writer, opts PackOptions) (PackResult, error) {
	t, err := openTree(opts.Dir, opts.Includes)
	if err != nil {
		return PackResult{}, err
	}
	defer t.close()
	rules, err := loadIgnoreRules(ctx, t, opts.Ignore)
	if err != nil {
		return PackResult{}, fmt.Errorf("load ignore rules of %s: %w", opts.Dir, err)
	}

	out := &limitedWriter{w: w, hash: sha256.New(), limit: opts.MaxSize}
	gw := gzip.NewWriter(out)
	p := &packer{ctx: ctx, tree: t, rules: rules, tw: tar.NewWriter(gw)}
	err = p.walk(nil)
	if err == nil {
		err = p.tw.Close()
	}
	if err == nil {
		err = gw.Close()
	}
	if errors.Is(out.err, ErrSizeLimit) {
		return PackResult{}, out.err
	}
	if out.err != nil {
		// Errors name paths inside the tree only: the tree's own location
		// is Tether's business and ends up in users' status.
		return PackResult{}, fmt.Errorf("write artifact: %w", out.err)
	}
	if err != nil {
		return PackResult{}, fmt.Errorf("pack the source tree: %w", err)
	}
	return PackResult{
		Digest: "sha256:" + hex.EncodeToString(out.hash.Sum(nil)),
		Size:   out.n,
		Files:  p.files,
	}, nil
}

type packer struct {
	ctx   context.Context
	tree  *tree
	rules *ignoreRules
	tw    *tar.Writer
	files int
}

// walk packs the children of dir, parents before children, siblings by
// name.
func (p *packer) walk(dir []string) error {
	nodes, err := p.tree.readDir(dir)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		if err := p.packNode(appendPath(dir, n.name), n); err != nil {
			return err
		}
	}
	return nil
}

func (p *packer) packNode(rel []string, n node) error {
	isDir := n.mode.IsDir()
	if isDir && n.name == ".git" {
		// Never packed, whatever the patterns say: it may hold credentials.
		return nil
	}
	excluded := p.rules.excluded(rel, isDir)
	switch {
	case isDir:
		if !excluded {
			if err := p.writeHeader(rel, tar.TypeDir, dirMode, 0, ""); err != nil {
				return err
			}
		}
		if !excluded || p.rules.mayReinclude(rel) {
			return p.walk(rel)
		}
	case excluded:
	case n.mode.IsRegular():
		return p.packFile(rel, n)
	case n.mode&fs.ModeSymlink != 0:
		return p.packLink(rel)
	}
	return nil
}

func (p *packer) packFile(rel []string, n node) error {
	mode := int64(fileMode)
	if n.mode&0o111 != 0 {
		mode = exeFileMode
	}
	f, err := n.open()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := p.writeHeader(rel, tar.TypeReg, mode, n.size, ""); err != nil {
		return err
	}
	if _, err := io.CopyN(p.tw, &ctxReader{ctx: p.ctx, r: f}, n.size); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("file shrank while packing")
		}
		return fmt.Errorf("%s: %w", joinPath(rel), err)
	}
	p.files++
	return nil
}

func (p *packer) packLink(rel []string) error {
	target, err := p.tree.readlink(rel)
	if err != nil {
		return fmt.Errorf("read symlink %s: %w", joinPath(rel), err)
	}
	if err := checkLink(p.tree, rel, target); err != nil {
		return fmt.Errorf("refusing symlink %s -> %s: %w", joinPath(rel), target, err)
	}
	return p.writeHeader(rel, tar.TypeSymlink, linkMode, 0, target)
}

func (p *packer) writeHeader(rel []string, typ byte, mode, size int64, link string) error {
	return p.tw.WriteHeader(&tar.Header{
		Typeflag: typ,
		Name:     joinPath(rel),
		Linkname: link,
		Mode:     mode,
		Size:     size,
		ModTime:  epoch,
	})
}

// limitedWriter hashes and counts what passes through, and refuses any
// write that would take the total over limit (when limit > 0).
type limitedWriter struct {
	w     io.Writer
	hash  hash.Hash
	n     int64
	limit int64
	err   error
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.limit > 0 && l.n+int64(len(b)) > l.limit {
		l.err = &sizeLimitError{fmt.Sprintf("artifact size exceeds the limit of %d bytes", l.limit)}
		return 0, l.err
	}
	n, err := l.w.Write(b)
	l.hash.Write(b[:n])
	l.n += int64(n)
	if err != nil {
		l.err = err
	}
	return n, err
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

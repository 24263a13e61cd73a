package artifact

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// Extract unpacks the stored artifact at artifactPath (a Stored.Path) into dst,
// creating dst if needed, with Unpack's checks and MaxExtractSize and
// MaxExtractEntries as the limits.
func (s *Storage) Extract(ctx context.Context, artifactPath, dst string) error {
	if !fs.ValidPath(artifactPath) {
		return fmt.Errorf("extract artifact %q: invalid path", artifactPath)
	}
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return fmt.Errorf("extract artifact %s: %w", artifactPath, err)
	}
	defer root.Close()
	f, err := root.Open(artifactPath)
	if err != nil {
		return fmt.Errorf("extract artifact %s: %w", artifactPath, err)
	}
	defer f.Close()
	if err := Unpack(ctx, f, dst, Limits{Bytes: s.MaxExtractSize, Entries: s.MaxExtractEntries}); err != nil {
		return fmt.Errorf("extract artifact %s: %w", artifactPath, err)
	}
	return nil
}

// Unpack extracts the tar.gz read from r into dst, creating dst if needed.
//
// Nothing is written outside dst: entries whose names are absolute or climb
// out with "..", and symlinks that lead outside dst (checked on the final
// tree, after every link exists), fail the whole extraction, and links are
// created only after all files, so no entry is written through one. Hard
// links fail too; other special files are skipped. At most limits.Bytes
// bytes of file content and limits.Entries entries are unpacked, so a
// small archive cannot fill the disk nor its inodes.
// Files get mode 0600 (0700 when executable), directories 0750.
// On error dst may hold part of the archive and should be discarded.
func Unpack(ctx context.Context, r io.Reader, dst string, limits Limits) error {
	limits = limits.withDefaults()
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()

	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("read artifact: %w", err)
	}
	defer gz.Close()
	budget := &extractBudget{bytes: limits.Bytes, entries: limits.Entries, limits: limits}
	links, err := unpackEntries(tar.NewReader(&ctxReader{ctx: ctx, r: gz}), root, budget)
	if err != nil {
		return err
	}
	return createLinks(root, links)
}

// Limits bound what Unpack writes.
type Limits struct {
	// Bytes bounds the content of all files together; 0 or less means
	// DefaultMaxExtractSize.
	Bytes int64
	// Entries bounds the files, folders and links; 0 or less means
	// DefaultMaxExtractEntries.
	Entries int
}

func (l Limits) withDefaults() Limits {
	if l.Bytes <= 0 {
		l.Bytes = DefaultMaxExtractSize
	}
	if l.Entries <= 0 {
		l.Entries = DefaultMaxExtractEntries
	}
	return l
}

// extractBudget is what is left of the limits.
type extractBudget struct {
	bytes   int64
	entries int
	limits  Limits
}

// entry takes one entry from the budget.
func (b *extractBudget) entry() error {
	if b.entries--; b.entries < 0 {
		return &sizeLimitError{fmt.Sprintf("artifact holds more than %d entries (files, folders and links)", b.limits.Entries)}
	}
	return nil
}

// content takes n bytes of file content from the budget.
func (b *extractBudget) content(n int64) error {
	if n > b.bytes {
		b.bytes = -1
		return &sizeLimitError{fmt.Sprintf("artifact uncompressed size exceeds the limit of %d bytes", b.limits.Bytes)}
	}
	b.bytes -= n
	return nil
}

type pendingLink struct {
	name   string
	target string
}

// unpackEntries writes directories and regular files, and returns the
// symlinks to create afterwards.
func unpackEntries(tr *tar.Reader, root *os.Root, budget *extractBudget) ([]pendingLink, error) {
	var links []pendingLink
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return links, nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return nil, fmt.Errorf("read artifact: %w", err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return nil, err
		}
		if name == "." {
			continue // the root itself, as Flux writes it
		}
		if err := budget.entry(); err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, dirMode)
		case tar.TypeReg:
			err = unpackFile(tr, root, name, hdr, budget)
		case tar.TypeSymlink:
			links = append(links, pendingLink{name: name, target: hdr.Linkname})
		case tar.TypeLink:
			err = errors.New("hard links are not supported")
		}
		if err != nil {
			return nil, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
	}
}

func unpackFile(tr *tar.Reader, root *os.Root, name string, hdr *tar.Header, budget *extractBudget) error {
	if err := budget.content(hdr.Size); err != nil {
		return err
	}
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, dirMode); err != nil {
			return err
		}
	}
	mode := os.FileMode(fileMode)
	if hdr.Mode&0o111 != 0 {
		mode = exeFileMode
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, tr); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// createLinks creates the symlinks, then checks each one against the
// final tree; if any leads outside, all of them are removed again.
func createLinks(root *os.Root, links []pendingLink) error {
	var created []string
	fail := func(l pendingLink, err error) error {
		for _, name := range created {
			root.Remove(name)
		}
		return fmt.Errorf("archive entry %q (symlink to %q): %w", l.name, l.target, err)
	}
	for _, l := range links {
		if dir := path.Dir(l.name); dir != "." {
			if err := root.MkdirAll(dir, dirMode); err != nil {
				return fail(l, err)
			}
		}
		if path.IsAbs(l.target) {
			return fail(l, errLinkEscapes)
		}
		if err := root.Symlink(l.target, l.name); err != nil {
			return fail(l, err)
		}
		created = append(created, l.name)
	}
	fsys := rootLinkFS{root}
	for _, l := range links {
		if err := checkLink(fsys, strings.Split(l.name, "/"), l.target); err != nil {
			return fail(l, err)
		}
	}
	return nil
}

// entryName cleans an archive entry name, refusing names that are absolute
// or climb above the destination.
func entryName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("archive entry %q: invalid name", name)
	}
	elems, err := splitRel(name)
	if err != nil || strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("archive entry %q: path is outside the destination", name)
	}
	return joinPath(elems), nil
}

// rootLinkFS is linkFS over an os.Root.
type rootLinkFS struct{ root *os.Root }

func (r rootLinkFS) lstat(p []string) (fs.FileMode, bool, error) {
	info, err := r.root.Lstat(joinPath(p))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return info.Mode(), true, nil
}

func (r rootLinkFS) readlink(p []string) (string, error) {
	return r.root.Readlink(joinPath(p))
}

// limitedReader fails once more than limit bytes have been read.

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
// creating dst if needed, with Unpack's checks and MaxExtractSize as the
// limit.
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
	if err := Unpack(ctx, f, dst, s.MaxExtractSize); err != nil {
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
// links fail too; other special files are skipped. At most maxSize bytes
// of uncompressed tar stream are read (0 or less means
// DefaultMaxExtractSize), so a small archive cannot fill the disk.
// Files get mode 0600 (0700 when executable), directories 0750.
// On error dst may hold part of the archive and should be discarded.
func Unpack(ctx context.Context, r io.Reader, dst string, maxSize int64) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxExtractSize
	}
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
	lr := &limitedReader{r: &ctxReader{ctx: ctx, r: gz}, left: maxSize, limit: maxSize}
	links, err := unpackEntries(tar.NewReader(lr), root, lr)
	if err != nil {
		if lr.err != nil {
			return lr.err
		}
		return err
	}
	return createLinks(root, links)
}

type pendingLink struct {
	name   string
	target string
}

// unpackEntries writes directories and regular files, and returns the
// symlinks to create afterwards.
func unpackEntries(tr *tar.Reader, root *os.Root, lr *limitedReader) ([]pendingLink, error) {
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
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, dirMode)
		case tar.TypeReg:
			err = unpackFile(tr, root, name, hdr, lr)
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

func unpackFile(tr *tar.Reader, root *os.Root, name string, hdr *tar.Header, lr *limitedReader) error {
	if hdr.Size > lr.left {
		return lr.exceeded()
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
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
	err   error
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(b)) > l.left+1 {
		b = b[:l.left+1]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, l.exceeded()
	}
	return n, err
}

func (l *limitedReader) exceeded() error {
	l.err = &sizeLimitError{fmt.Sprintf("artifact uncompressed size exceeds the limit of %d bytes", l.limit)}
	return l.err
}

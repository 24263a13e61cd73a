package artifact

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// maxLinkHops bounds how many symlinks one resolution follows (Linux's
// limit is 40).
const maxLinkHops = 40

// errLinkEscapes marks a symlink that leads outside the artifact root.
var errLinkEscapes = errors.New("target is outside the artifact root")

// linkFS is what checkLink needs to follow symlinks: slash paths relative
// to the root whose elements are never "", "." or "..".
type linkFS interface {
	// lstat returns the type of p without following a final symlink, and
	// false when p does not exist.
	lstat(p []string) (fs.FileMode, bool, error)
	readlink(p []string) (string, error)
}

// checkLink follows the symlink at link with the given target the way the
// kernel would once the artifact is unpacked, and fails if any step goes
// above the root: an absolute target, too many "..", or another symlink on
// the way that does so. Checking the target text alone is not enough:
// "x/d/.." is inside when read as text, but above the root when x/d is a
// link to "../..". Missing path elements are taken literally; the kernel
// stops at them, so that is never less strict.
func checkLink(fsys linkFS, link []string, target string) error {
	if target == "" {
		return errors.New("empty target")
	}
	dir := append([]string(nil), link[:len(link)-1]...)
	pending := strings.Split(target, "/")
	if path.IsAbs(target) {
		return errLinkEscapes
	}
	hops := 0
	for len(pending) > 0 {
		elem := pending[0]
		pending = pending[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			if len(dir) == 0 {
				return errLinkEscapes
			}
			dir = dir[:len(dir)-1]
			continue
		}
		next := appendPath(dir, elem)
		mode, exists, err := fsys.lstat(next)
		if err != nil {
			return err
		}
		if !exists || mode&fs.ModeSymlink == 0 {
			dir = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return fmt.Errorf("more than %d symlinks to follow", maxLinkHops)
		}
		t, err := fsys.readlink(next)
		if err != nil {
			return err
		}
		if path.IsAbs(t) {
			return errLinkEscapes
		}
		pending = append(strings.Split(t, "/"), pending...)
	}
	return nil
}

package bucket

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLocalPath: whatever object names a bucket's owner writes, an
// accepted one lands strictly inside the download folder.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"a.yaml", "deploy/app/cm.yaml", "../x", "a/../../x", "/etc/passwd", "a\\..\\x", "./a", "a//b", "dir/", ".."} {
		f.Add(s)
	}
	dir := filepath.Join(f.TempDir(), "artifact")
	f.Fuzz(func(t *testing.T, key string) {
		p, err := localPath(dir, key)
		if err != nil {
			return
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			t.Fatalf("object %q lands at %q, outside %q", key, p, dir)
		}
	})
}

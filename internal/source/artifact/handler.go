package artifact

import (
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// Handler serves the files under Root read-only, at their Stored.Path
// (mount it with http.StripPrefix when BaseURL has a path). It answers GET
// and HEAD only, with Content-Type application/gzip and support for
// conditional and range requests. Directories are never listed, and
// hidden files (such as artifacts still being written), paths with ".."
// and symlinks leading outside Root are answered 404.
func (s *Storage) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Storage) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/")
	if !ok || !fs.ValidPath(name) || name == "." || hasHiddenElem(name) {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		http.Error(w, "artifact storage unavailable", http.StatusServiceUnavailable)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

func hasHiddenElem(name string) bool {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}

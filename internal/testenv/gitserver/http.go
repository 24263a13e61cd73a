package gitserver

import (
	"crypto/subtle"
	"net/http"
	"path"
	"strings"
	"time"
)

// wrap logs every request and checks credentials before the backend,
// which runs `git http-backend`, sees it.
func (s *Server) wrap(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			s.record(Request{
				Method:   r.Method,
				Path:     r.URL.Path,
				Service:  service(r),
				Status:   rec.status,
				BytesOut: rec.bytes,
				Time:     start,
			})
		}()
		if !s.authorized(r) {
			s.challenge(rec)
			return
		}
		r.Header.Del("Authorization") // keep secrets out of the CGI environment
		if s.opts.BeforePush != nil && r.Method == http.MethodPost && path.Base(r.URL.Path) == "git-receive-pack" {
			s.opts.BeforePush(r.URL.Path)
		}
		backend.ServeHTTP(rec, r)
	})
}

// authorized reports whether r carries the credentials Options ask for.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" && s.opts.BearerToken == "" {
		return true
	}
	if user, pass, ok := r.BasicAuth(); ok && s.opts.Username != "" {
		return equal(user, s.opts.Username) && equal(pass, s.opts.Password)
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.opts.BearerToken != "" {
		return equal(strings.TrimSpace(token), s.opts.BearerToken)
	}
	return false
}

// challenge answers 401 with the schemes the server accepts.
func (s *Server) challenge(w http.ResponseWriter) {
	if s.opts.Username != "" {
		w.Header().Add("WWW-Authenticate", `Basic realm="gitserver"`)
	}
	if s.opts.BearerToken != "" {
		w.Header().Add("WWW-Authenticate", `Bearer realm="gitserver"`)
	}
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

// equal compares secrets in constant time.
func equal(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// service names the Git service a request belongs to, if any.
func service(r *http.Request) string {
	if svc := r.URL.Query().Get("service"); svc != "" {
		return svc
	}
	switch svc := path.Base(r.URL.Path); svc {
	case "git-upload-pack", "git-receive-pack":
		return svc
	}
	return ""
}

// recorder remembers the status and counts the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush lets streamed responses reach the client as they are written.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

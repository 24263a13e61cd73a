package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tether-gitops/tether/internal/server/rbac"
	"github.com/tether-gitops/tether/internal/server/session"
	"github.com/tether-gitops/tether/internal/version"
)

// cookieName is the cookie Argo CD's UI keeps its token in. A token too
// long for one cookie is split: "argocd.token=<n>:<part>", then
// "argocd.token-1", ... "argocd.token-<n-1>".
const cookieName = "argocd.token"

// maxCookies bounds how many cookie parts are read.
const maxCookies = 20

// maxSmallBody bounds the JSON bodies of ordinary requests.
const maxSmallBody = 1 << 20

type identityKey struct{}

// caller is the verified identity of the request.
func caller(ctx context.Context) *session.Identity {
	id, _ := ctx.Value(identityKey{}).(*session.Identity)
	return id
}

// subject is the caller as RBAC sees it.
func subject(id *session.Identity) rbac.Subject {
	return rbac.Subject{Name: id.Subject, Claims: id.Claims}
}

// authed runs next only for a caller with a valid token; others get 401.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := requestToken(r)
		if token == "" {
			writeError(w, codeUnauthenticated, "no session information")
			return
		}
		id, err := s.deps.Sessions.Verify(r.Context(), token)
		if err != nil {
			var invalid *session.InvalidTokenError
			if !errors.As(err, &invalid) {
				s.deps.Logger.Error(err, "verify token")
			}
			writeError(w, codeUnauthenticated, "invalid session: token is not valid")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// requestToken reads the token from "Authorization: Bearer" or the
// argocd.token cookie (joining its parts).
func requestToken(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if token, ok := strings.CutPrefix(auth, "Bearer "); ok {
			return strings.TrimSpace(token)
		}
		return ""
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	count, first, split := strings.Cut(c.Value, ":")
	n, err := strconv.Atoi(count)
	if !split || err != nil || n < 2 || n > maxCookies {
		return c.Value
	}
	parts := []string{first}
	for i := 1; i < n; i++ {
		part, err := r.Cookie(cookieName + "-" + strconv.Itoa(i))
		if err != nil {
			return ""
		}
		parts = append(parts, part.Value)
	}
	return strings.Join(parts, "")
}

// loginRequest is the body of POST /api/v1/session.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, codeInvalidArgument, "request body must be JSON: {\"username\": ..., \"password\": ...}")
		return
	}
	token, err := s.deps.Sessions.Login(req.Username, req.Password)
	switch {
	case errors.Is(err, session.ErrUsernameTooLong):
		writeError(w, codeInvalidArgument, err.Error())
		return
	case err != nil:
		writeError(w, codeUnauthenticated, err.Error())
		return
	}
	s.setTokenCookie(w, token, 0)
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

// setTokenCookie sets (maxAge 0) or clears (maxAge < 0) the token cookie:
// HttpOnly, SameSite=Lax and, unless the server is plain HTTP, Secure.
func (s *Server) setTokenCookie(w http.ResponseWriter, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: !s.cfg.Insecure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) logout(w http.ResponseWriter, _ *http.Request) {
	s.setTokenCookie(w, "", -1)
	writeJSON(w, http.StatusOK, struct{}{})
}

// userInfo is GET /api/v1/session/userinfo: who the caller is; never an
// error.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	type info struct {
		LoggedIn bool     `json:"loggedIn"`
		Username string   `json:"username,omitempty"`
		Iss      string   `json:"iss,omitempty"`
		Groups   []string `json:"groups,omitempty"`
	}
	token := requestToken(r)
	if token == "" {
		writeJSON(w, http.StatusOK, info{})
		return
	}
	id, err := s.deps.Sessions.Verify(r.Context(), token)
	if err != nil {
		writeJSON(w, http.StatusOK, info{})
		return
	}
	writeJSON(w, http.StatusOK, info{LoggedIn: true, Username: id.Subject, Iss: id.Issuer, Groups: id.Groups})
}

func buildVersion() string { return version.Get().Version }

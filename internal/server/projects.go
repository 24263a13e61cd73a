package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/server/session"
)

func keyOf(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}

// projectList is the list's answer.
type projectList struct {
	Items []argov1.AppProject `json:"items"`
}

// projectForAPI readies a project for an answer, as appForAPI does.
func projectForAPI(p *argov1.AppProject) {
	p.APIVersion, p.Kind = argov1.GroupVersion.String(), "AppProject"
	p.ManagedFields = nil
}

// listProjects is GET /api/v1/projects: the projects the caller may read.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	var list argov1.AppProjectList
	if err := s.deps.Client.List(r.Context(), &list, client.InNamespace(s.cfg.Namespace)); err != nil {
		s.internalError(w, err, "list AppProjects")
		return
	}
	out := projectList{Items: []argov1.AppProject{}}
	for _, p := range list.Items {
		if allows(policy, r, resProjects, actGet, p.Name) {
			projectForAPI(&p)
			out.Items = append(out.Items, p)
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// getProject is GET /api/v1/projects/{name}; 403 when the caller may not
// read it, whether or not it exists.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	p, ok := s.readProject(w, r, r.PathValue("name"), actGet)
	if !ok {
		return
	}
	projectForAPI(p)
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) readProject(w http.ResponseWriter, r *http.Request, name, action string) (*argov1.AppProject, bool) {
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return nil, false
	}
	if !allows(policy, r, resProjects, action, name) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return nil, false
	}
	var p argov1.AppProject
	if err := s.deps.Client.Get(r.Context(), keyOf(s.cfg.Namespace, name), &p); apierrors.IsNotFound(err) {
		writeError(w, codeNotFound, `appprojects.argoproj.io "`+name+`" not found`)
		return nil, false
	} else if err != nil {
		s.internalError(w, err, "read AppProject")
		return nil, false
	}
	return &p, true
}

// tokenRequest is the body of POST /api/v1/projects/{p}/roles/{r}/token.
type tokenRequest struct {
	Description string `json:"description,omitempty"`
	// ExpiresIn is the token's lifetime in seconds; 0 means no expiry.
	ExpiresIn int64  `json:"expiresIn,omitempty"`
	ID        string `json:"id,omitempty"`
}

// createProjectToken issues a token for a project role (callers need
// update on the project, as in Argo CD) and records it in the project's
// status, where verification looks for it: removing the record or the
// role revokes the token.
func (s *Server) createProjectToken(w http.ResponseWriter, r *http.Request) {
	projectName, role := r.PathValue("project"), r.PathValue("role")
	var req tokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSmallBody)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, codeInvalidArgument, "request body must be JSON: {\"expiresIn\": seconds, \"id\": ...}")
		return
	}
	if req.ExpiresIn < 0 {
		writeError(w, codeInvalidArgument, "expiresIn must not be negative")
		return
	}
	ap, ok := s.readProject(w, r, projectName, actUpdate)
	if !ok {
		return
	}
	if !hasRole(ap, role) {
		writeError(w, codeNotFound, "project '"+projectName+"' does not have role '"+role+"'")
		return
	}
	for _, t := range session.ProjectTokens(ap, role) {
		if req.ID != "" && t.ID == req.ID {
			writeError(w, codeAlreadyExists, "a token with id '"+req.ID+"' already exists for role '"+role+"'")
			return
		}
	}
	token, record, err := s.deps.Sessions.IssueProjectToken(projectName, role, time.Duration(req.ExpiresIn)*time.Second, req.ID)
	if err != nil {
		s.internalError(w, err, "issue project token")
		return
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var latest argov1.AppProject
		if err := s.deps.APIReader.Get(r.Context(), keyOf(s.cfg.Namespace, projectName), &latest); err != nil {
			return err
		}
		if latest.Status.JWTTokensByRole == nil {
			latest.Status.JWTTokensByRole = map[string]argov1.JWTTokens{}
		}
		tokens := latest.Status.JWTTokensByRole[role]
		tokens.Items = append(tokens.Items, record)
		latest.Status.JWTTokensByRole[role] = tokens
		return s.deps.Client.Status().Update(r.Context(), &latest)
	})
	if err != nil {
		s.internalError(w, err, "record project token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

func hasRole(ap *argov1.AppProject, role string) bool {
	for _, r := range ap.Spec.Roles {
		if r.Name == role {
			return true
		}
	}
	return false
}

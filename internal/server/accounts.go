package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tether-gitops/tether/internal/server/session"
	"github.com/tether-gitops/tether/internal/server/settings"
)

// resAccounts is the RBAC resource of local accounts.
const resAccounts = "accounts"

// defaultPasswordPattern is Argo CD's rule for new passwords unless
// argocd-cm passwordPattern says otherwise.
const defaultPasswordPattern = `^.{8,32}$`

// accountInfo is an account as the API shows it: never its password hash.
type accountInfo struct {
	Name         string          `json:"name"`
	Enabled      bool            `json:"enabled"`
	Capabilities []string        `json:"capabilities,omitempty"`
	Tokens       []session.Token `json:"tokens,omitempty"`
}

func (s *Server) accounts() map[string]*session.Account {
	return session.Accounts(s.deps.Settings.ConfigMap(), s.deps.Settings.Secret())
}

// mayManage reports whether the caller may take action on account name:
// an account may always manage itself, as in Argo CD.
func (s *Server) mayManage(r *http.Request, action, name string) (bool, error) {
	if caller(r.Context()).Subject == name && caller(r.Context()).Issuer == session.Issuer {
		return true, nil
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		return false, err
	}
	return allows(policy, r, resAccounts, action, name), nil
}

// listAccounts is GET /api/v1/account.
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	items := []accountInfo{}
	for _, a := range s.accounts() {
		if ok, err := s.mayManage(r, actGet, a.Name); err != nil {
			s.internalError(w, err, "rbac policy")
			return
		} else if ok {
			items = append(items, accountInfo{Name: a.Name, Enabled: a.Enabled, Capabilities: a.Capabilities, Tokens: a.Tokens})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// readAccount finds {name} if the caller may take action on it.
func (s *Server) readAccount(w http.ResponseWriter, r *http.Request, action string) (*session.Account, bool) {
	name := r.PathValue("name")
	ok, err := s.mayManage(r, action, name)
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return nil, false
	}
	a := s.accounts()[name]
	switch {
	case !ok:
		writeError(w, codePermissionDenied, errPermissionDenied)
		return nil, false
	case a == nil:
		writeError(w, codeNotFound, "account '"+name+"' does not exist")
		return nil, false
	}
	return a, true
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.readAccount(w, r, actGet); ok {
		writeJSON(w, http.StatusOK, accountInfo{Name: a.Name, Enabled: a.Enabled, Capabilities: a.Capabilities, Tokens: a.Tokens})
	}
}

// createAccountToken is POST /api/v1/account/{name}/token: an API key for
// an account with the apiKey capability, recorded in argocd-secret
// (accounts.<name>.tokens) so that deleting the record revokes it.
func (s *Server) createAccountToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSmallBody)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, codeInvalidArgument, "request body must be JSON: {\"expiresIn\": seconds, \"id\": ...}")
		return
	}
	a, ok := s.readAccount(w, r, actUpdate)
	if !ok {
		return
	}
	if !a.Has(session.CapabilityAPIKey) {
		writeError(w, codeInvalidArgument, "account '"+a.Name+"' does not have 'apiKey' capability")
		return
	}
	if req.ExpiresIn < 0 {
		writeError(w, codeInvalidArgument, "expiresIn must not be negative")
		return
	}
	if req.ID != "" && a.HasToken(req.ID) {
		writeError(w, codeAlreadyExists, "account '"+a.Name+"' already has token with id '"+req.ID+"'")
		return
	}
	token, record, err := s.deps.Sessions.IssueAPIKey(a.Name, time.Duration(req.ExpiresIn)*time.Second, req.ID)
	if err != nil {
		s.internalError(w, err, "issue API key")
		return
	}
	err = settings.UpdateSecret(r.Context(), s.deps.Kube, s.cfg.Namespace, func(data map[string][]byte) error {
		return addAccountToken(data, a.Name, record)
	})
	if err != nil {
		s.internalError(w, err, "record API key")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

func addAccountToken(data map[string][]byte, name string, t session.Token) error {
	key := "accounts." + name + ".tokens"
	var tokens []session.Token
	if raw := data[key]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &tokens); err != nil {
			return errors.New("argocd-secret " + key + " is not a JSON list")
		}
	}
	raw, err := json.Marshal(append(tokens, t))
	if err != nil {
		return err
	}
	data[key] = raw
	return nil
}

// deleteAccountToken is DELETE /api/v1/account/{name}/token/{id}: the API
// key stops working at once.
func (s *Server) deleteAccountToken(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAccount(w, r, actUpdate)
	if !ok {
		return
	}
	id := r.PathValue("id")
	key := "accounts." + a.Name + ".tokens"
	err := settings.UpdateSecret(r.Context(), s.deps.Kube, s.cfg.Namespace, func(data map[string][]byte) error {
		var tokens, kept []session.Token
		_ = json.Unmarshal(data[key], &tokens)
		for _, t := range tokens {
			if t.ID != id {
				kept = append(kept, t)
			}
		}
		raw, err := json.Marshal(kept)
		data[key] = raw
		return err
	})
	if err != nil {
		s.internalError(w, err, "delete API key")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// passwordRequest is the body of PUT /api/v1/account/password.
type passwordRequest struct {
	Name            string `json:"name,omitempty"`
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// updatePassword is PUT /api/v1/account/password: the caller's own
// password, or another account's with update rights; either way the
// caller proves who they are with their current password. Tokens issued
// before the change stop working.
func (s *Server) updatePassword(w http.ResponseWriter, r *http.Request) {
	var req passwordRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSmallBody)).Decode(&req); err != nil {
		writeError(w, codeInvalidArgument, "request body must be JSON: {\"currentPassword\": ..., \"newPassword\": ...}")
		return
	}
	id := caller(r.Context())
	if req.Name == "" {
		req.Name = id.Subject
	}
	if id.Issuer != session.Issuer || strings.HasPrefix(id.Subject, "proj:") {
		writeError(w, codeInvalidArgument, "only local accounts have passwords")
		return
	}
	r.SetPathValue("name", req.Name)
	target, ok := s.readAccount(w, r, actUpdate)
	if !ok {
		return
	}
	pattern := s.deps.Settings.ConfigMap()["passwordPattern"]
	if pattern == "" {
		pattern = defaultPasswordPattern
	}
	if re, err := regexp.Compile(pattern); err != nil || !re.MatchString(req.NewPassword) {
		writeError(w, codeInvalidArgument, "new password does not match the password pattern "+pattern)
		return
	}
	if err := s.deps.Sessions.CheckPassword(id.Subject, req.CurrentPassword); err != nil {
		writeError(w, codeInvalidArgument, "current password does not match")
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.NewPassword), bcrypt.DefaultCost)
	if err != nil {
		s.internalError(w, err, "hash password")
		return
	}
	prefix := "accounts." + target.Name
	if target.Name == session.AdminAccount {
		prefix = "admin"
	}
	err = settings.UpdateSecret(r.Context(), s.deps.Kube, s.cfg.Namespace, func(data map[string][]byte) error {
		data[prefix+".password"] = hash
		data[prefix+".passwordMtime"] = []byte(time.Now().UTC().Format(time.RFC3339))
		return nil
	})
	if err != nil {
		s.internalError(w, err, "update password")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// canI is GET /api/v1/account/can-i/{resource}/{action}/{object...}:
// "yes" or "no" for the caller, as `argocd account can-i` asks.
func (s *Server) canI(w http.ResponseWriter, r *http.Request) {
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	answer := "no"
	if allows(policy, r, r.PathValue("resource"), r.PathValue("action"), r.PathValue("object")) {
		answer = "yes"
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": answer})
}

package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// auditPolicy records every request's metadata once it completes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  # Delete options (propagation policy) are worth seeing; delete bodies
  # carry no object data.
  - level: Request
    verbs: ["delete", "deletecollection"]
  - level: Metadata
`

// AuditEvent is one API request as the API server's audit log recorded it
// (Options.Audit must be set).
type AuditEvent struct {
	// Verb is the Kubernetes verb: get, list, watch, create, update,
	// patch, delete.
	Verb string `json:"verb"`
	// RequestURI is the path and query.
	RequestURI string `json:"requestURI"`
	// UserAgent of the client.
	UserAgent string `json:"userAgent"`
	// User is the authenticated user.
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	// ImpersonatedUser is set for impersonated requests.
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser,omitempty"`
	// RequestObject is the request body, recorded for deletes only (their
	// DeleteOptions, such as propagationPolicy).
	RequestObject map[string]any `json:"requestObject,omitempty"`
	// ResponseStatus holds the HTTP code.
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	// ObjectRef names the object: its name is known for a create too
	// (the API server reads it from the body).
	ObjectRef struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
}

// IsWrite reports whether the request changes state: create, update,
// patch, delete or deletecollection, and not a dry run.
func (e AuditEvent) IsWrite() bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return !strings.Contains(e.RequestURI, "dryRun=All")
	}
	return false
}

func (e *Env) auditArgs() ([]string, error) {
	policy := filepath.Join(e.Dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, err
	}
	e.auditLog = filepath.Join(e.Dir, "logs", "audit.log")
	// The log is never rotated (the API server's default rotates at 100
	// MB, after which counts from an earlier mark came out empty).
	return []string{"--audit-policy-file", policy, "--audit-log-path", e.auditLog,
		"--audit-log-mode", "blocking", "--audit-log-format", "json", "--audit-log-maxsize", "100000"}, nil
}

// AuditEvents returns every request recorded so far. It fails when the
// cluster was started without Options.Audit.
func (e *Env) AuditEvents() ([]AuditEvent, error) {
	if e.auditLog == "" {
		return nil, fmt.Errorf("audit log is off: start the cluster with Options.Audit")
	}
	f, err := os.Open(e.auditLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var events []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err == nil {
			events = append(events, ev)
		}
	}
	return events, sc.Err()
}

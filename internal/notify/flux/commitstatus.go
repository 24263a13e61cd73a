package flux

import (
	"crypto/sha1" //nolint:gosec // Bitbucket's status key, as Flux makes it
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/notify"
)

// Commit statuses: github, gitlab, gitea and bitbucket set the status of
// the commit of the event's revision, success for info and failure for
// error, in a context of their own per object and Provider.
//
// Flux skips Progressing events, which its controllers send before a
// reconcile ends. Tether's Kustomization records its Progressing event
// (the change set) after the revision is applied and healthy, with Ready
// already True: such an event is the success to report, described by the
// Ready condition's reason.

// statusOf is the commit, state description and context of ev for a
// commit status, or ok false when the event is not one to report.
type commitStatus struct {
	sha, description, context string
	success, pending          bool
}

func statusOf(t *target, ev *Event) (*commitStatus, bool, error) {
	if t.statusExpr != "" {
		return nil, false, notify.Permanent(errors.New("spec.commitStatusExpr (CEL) is not supported by Tether; remove it to use the default status name"))
	}
	reason := ev.Reason
	pending := false
	if reason == meta.ProgressingReason {
		if ev.Subject.ReadyReason == "" {
			pending = true
		} else {
			reason = ev.Subject.ReadyReason
		}
	}
	rev, ok := ev.Metadata[MetaRevision]
	if !ok || rev == "" {
		return nil, false, notify.Permanent(errors.New("the event has no revision metadata"))
	}
	sha, err := CommitSHA(rev)
	if err != nil {
		return nil, false, notify.Permanent(err)
	}
	return &commitStatus{sha: sha, description: describe(reason), context: statusContext(t.uid, ev),
		success: ev.Severity == SeverityInfo, pending: pending}, true, nil
}

// statusContext is Flux's default status name: kind/name/<first part of
// the Provider's UID>, in lower case.
func statusContext(providerUID string, ev *Event) string {
	uid, _, _ := strings.Cut(providerUID, "-")
	return strings.ToLower(fmt.Sprintf("%s/%s/%s", ev.InvolvedObject.Kind, ev.InvolvedObject.Name, uid))
}

// describe turns a reason such as ReconciliationSucceeded into
// "reconciliation succeeded".
func describe(reason string) string {
	return strings.ToLower(strings.Join(splitCamelCase(reason), " "))
}

// splitCamelCase splits s into words at case changes, digits and other
// characters: "HTTPServerError" -> HTTP, Server, Error.
func splitCamelCase(s string) []string {
	var runs [][]rune
	last := -1
	for _, r := range s {
		class := 3
		switch {
		case unicode.IsLower(r):
			class = 0
		case unicode.IsUpper(r):
			class = 1
		case unicode.IsDigit(r):
			class = 2
		}
		if class == last {
			runs[len(runs)-1] = append(runs[len(runs)-1], r)
		} else {
			runs = append(runs, []rune{r})
		}
		last = class
	}
	// An upper-case run followed by a lower-case one gives its last letter
	// to the next word: "HTTPS", "erver" -> "HTTP", "Server".
	for i := 0; i+1 < len(runs); i++ {
		if unicode.IsUpper(runs[i][0]) && unicode.IsLower(runs[i+1][0]) {
			n := len(runs[i])
			runs[i+1] = append([]rune{runs[i][n-1]}, runs[i+1]...)
			runs[i] = runs[i][:n-1]
		}
	}
	var words []string
	for _, r := range runs {
		if w := strings.TrimSpace(string(r)); w != "" {
			words = append(words, w)
		}
	}
	return words
}

// gitAddress splits a repository address (https://host/owner/repo(.git),
// ssh://git@host/owner/repo or git@host:owner/repo) into the forge's
// base URL (https for SSH addresses) and the repository path.
func gitAddress(address string) (base, repo string, err error) {
	if address == "" {
		return "", "", errNoAddress
	}
	var host, path, scheme string
	if strings.Contains(address, "://") {
		u, perr := url.Parse(address)
		if perr != nil || u.Host == "" {
			return "", "", notify.Permanent(errors.New("the Provider's address is not a repository URL"))
		}
		scheme, host, path = u.Scheme, u.Host, u.Path
		switch {
		case u.Hostname() == "":
			host = ""
		case scheme == "ssh":
			scheme, host = "https", u.Hostname()
		case scheme != "http" && scheme != "https":
			return "", "", notify.Permanent(errors.New("the Provider's address must be an http(s) or ssh repository URL"))
		}
	} else if at, rest, ok := strings.Cut(address, "@"); ok && at != "" {
		h, p, ok := strings.Cut(rest, ":")
		if !ok {
			return "", "", notify.Permanent(errors.New("the Provider's address is not a repository URL"))
		}
		scheme, host, path = "https", h, p
	} else {
		return "", "", notify.Permanent(errors.New("the Provider's address is not a repository URL"))
	}
	repo = strings.Trim(strings.TrimSuffix(strings.Trim(path, "/"), ".git"), "/")
	if host == "" || strings.ContainsAny(host, "/?#") {
		return "", "", notify.Permanent(errors.New("the Provider's address names no host"))
	}
	if repo == "" {
		return "", "", notify.Permanent(errors.New("the Provider's address names no repository"))
	}
	return scheme + "://" + host, repo, nil
}

// ownerRepo splits "owner/repo" and refuses deeper paths.
func ownerRepo(repo string) (string, string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", notify.Permanent(errors.New("the Provider's address must name a repository as owner/repo"))
	}
	return owner, name, nil
}

// repositoryAt reads a commit-status Provider's address as its server's
// base URL and the repository's owner and name.
func repositoryAt(address string) (base, owner, name string, err error) {
	base, repo, err := gitAddress(address)
	if err != nil {
		return "", "", "", err
	}
	owner, name, err = ownerRepo(repo)
	return base, owner, name, err
}

// apiBase is the REST API of a Git host: hostedAPI for the hosted service
// (base on host hosted), base+suffix for a self-hosted server.
func apiBase(base, hosted, hostedAPI, suffix string) string {
	if u, _ := url.Parse(base); u != nil && u.Hostname() == hosted {
		return hostedAPI
	}
	return base + suffix
}

func needToken(t *target) error {
	if t.token == "" {
		return notify.Permanent(fmt.Errorf("%s needs a token in the token key of the Provider's Secret", t.typ))
	}
	return nil
}

// githubStatus: POST {api}/repos/{owner}/{repo}/statuses/{sha}, where the
// API is api.github.com for github.com and {host}/api/v3 for GitHub
// Enterprise Server.
func githubStatus(t *target, ev *Event) (*request, error) {
	st, ok, err := statusOf(t, ev)
	if err != nil || !ok || st.pending {
		return nil, err
	}
	if err := needToken(t); err != nil {
		return nil, err
	}
	base, owner, name, err := repositoryAt(t.address)
	if err != nil {
		return nil, err
	}
	api := apiBase(base, "github.com", "https://api.github.com", "/api/v3")
	state := "failure"
	if st.success {
		state = "success"
	}
	body := struct {
		State       string `json:"state"`
		Context     string `json:"context"`
		Description string `json:"description"`
	}{state, st.context, st.description}
	target := fmt.Sprintf("%s/repos/%s/%s/statuses/%s", api, url.PathEscape(owner), url.PathEscape(name), st.sha)
	return jsonRequest(http.MethodPost, target, body, map[string]string{
		"Authorization": "Bearer " + t.token, "Accept": "application/vnd.github.v3+json",
	})
}

// gitlabStatus: POST {host}/api/v4/projects/{id}/statuses/{sha} with a
// PRIVATE-TOKEN; the project is the address's path or numeric ID.
func gitlabStatus(t *target, ev *Event) (*request, error) {
	st, ok, err := statusOf(t, ev)
	if err != nil || !ok || st.pending {
		return nil, err
	}
	if err := needToken(t); err != nil {
		return nil, err
	}
	base, repo, err := gitAddress(t.address)
	if err != nil {
		return nil, err
	}
	state := "failed"
	if st.success {
		state = "success"
	}
	body := struct {
		State       string `json:"state"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}{state, st.context, st.description}
	target := fmt.Sprintf("%s/api/v4/projects/%s/statuses/%s", base, url.PathEscape(repo), st.sha)
	return jsonRequest(http.MethodPost, target, body, map[string]string{"PRIVATE-TOKEN": t.token})
}

// giteaStatus: POST {host}/api/v1/repos/{owner}/{repo}/statuses/{sha};
// Gitea shows Progressing events as pending.
func giteaStatus(t *target, ev *Event) (*request, error) {
	st, ok, err := statusOf(t, ev)
	if err != nil || !ok {
		return nil, err
	}
	if err := needToken(t); err != nil {
		return nil, err
	}
	base, owner, name, err := repositoryAt(t.address)
	if err != nil {
		return nil, err
	}
	state := "failure"
	switch {
	case st.pending:
		state = "pending"
	case st.success:
		state = "success"
	}
	body := struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}{state, "", st.description, st.context}
	target := fmt.Sprintf("%s/api/v1/repos/%s/%s/statuses/%s", base, url.PathEscape(owner), url.PathEscape(name), st.sha)
	return jsonRequest(http.MethodPost, target, body, map[string]string{"Authorization": "token " + t.token})
}

// bitbucketStatus: POST {api}/repositories/{owner}/{repo}/commit/{sha}/
// statuses/build with basic auth from a "<user>:<app password>" token.
// The API is api.bitbucket.org/2.0 for bitbucket.org (where Flux always
// sends) and {host}/2.0 for any other host.
func bitbucketStatus(t *target, ev *Event) (*request, error) {
	st, ok, err := statusOf(t, ev)
	if err != nil || !ok || st.pending {
		return nil, err
	}
	user, pass, found := strings.Cut(t.token, ":")
	if !found || user == "" || pass == "" {
		return nil, notify.Permanent(errors.New("bitbucket needs a token of the form <user>:<app password> in the Provider's Secret"))
	}
	base, owner, name, err := repositoryAt(t.address)
	if err != nil {
		return nil, err
	}
	api := apiBase(base, "bitbucket.org", "https://api.bitbucket.org/2.0", "/2.0")
	state := "FAILED"
	if st.success {
		state = "SUCCESSFUL"
	}
	body := struct {
		State       string `json:"state"`
		Key         string `json:"key"`
		Name        string `json:"name"`
		Description string `json:"description"`
		URL         string `json:"url"`
	}{state, fmt.Sprintf("%x", sha1.Sum([]byte(st.context))), st.context, st.description, "https://bitbucket.org"} //nolint:gosec // a key of 40 characters, as Bitbucket limits it
	target := fmt.Sprintf("%s/repositories/%s/%s/commit/%s/statuses/build", api, url.PathEscape(owner), url.PathEscape(name), st.sha)
	return jsonRequest(http.MethodPost, target, body, map[string]string{
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)),
	})
}

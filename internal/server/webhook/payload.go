package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Providers whose push events POST /api/webhook reads.
const (
	GitHub    = "github"
	GitLab    = "gitlab"
	Bitbucket = "bitbucket"
	Gitea     = "gitea"
	Gogs      = "gogs"
)

// Bounds on what one payload may contribute, whatever its size: a push
// listing more changed files than maxChangedFiles counts as "every file
// changed", more branches than maxChanges are ignored.
const (
	maxChangedFiles = 10000
	maxChanges      = 100
)

// errMalformed marks a payload that is not the JSON its provider sends.
var errMalformed = errors.New("malformed payload")

// commitFiles are the file lists of one commit, as GitHub, GitLab, Gitea
// and Gogs report them.
type commitFiles struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

// changedFiles joins the commits' file lists; known is false when the
// payload lists fewer commits than were pushed (GitLab and Gitea cut the
// list; GitHub at 2,048), when it lists none, or past maxChangedFiles.
func changedFiles(commits []commitFiles, total int) (files []string, known bool) {
	if len(commits) == 0 || total > len(commits) || len(commits) >= 2048 {
		return nil, false
	}
	seen := map[string]bool{}
	for _, c := range commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range list {
				if f == "" || seen[f] {
					continue
				}
				if len(files) == maxChangedFiles {
					return nil, false
				}
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files, true
}

// ParsePush reads the push event body of provider. It never panics: a
// body of the wrong shape is an error, missing fields are empty. A push
// that names no ref or no repository gives no Push (Bitbucket may report
// several branches in one event, hence the slice).
func ParsePush(provider string, body []byte) (pushes []Push, err error) {
	defer func() {
		if v := recover(); v != nil {
			pushes, err = nil, fmt.Errorf("%w: %v", errMalformed, v)
		}
	}()
	switch provider {
	case GitHub:
		return parseGitHub(body)
	case GitLab:
		return parseGitLab(body)
	case Bitbucket:
		return parseBitbucket(body)
	case Gitea, Gogs:
		return parseGitea(provider, body)
	}
	return nil, fmt.Errorf("unknown provider %q", provider)
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", errMalformed, err)
	}
	return nil
}

// keep returns p as a one-element slice when it names a ref and a
// repository.
func keep(p Push) []Push {
	var urls []string
	for _, u := range p.URLs {
		if strings.TrimSpace(u) != "" {
			urls = append(urls, u)
		}
	}
	p.URLs = urls
	if !strings.HasPrefix(p.Ref, "refs/") || len(urls) == 0 {
		return nil
	}
	return []Push{p}
}

func parseGitHub(body []byte) ([]Push, error) {
	var ev struct {
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Repository struct {
			HTMLURL       string `json:"html_url"`
			CloneURL      string `json:"clone_url"`
			SSHURL        string `json:"ssh_url"`
			GitURL        string `json:"git_url"`
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
		Commits []commitFiles `json:"commits"`
	}
	if err := decode(body, &ev); err != nil {
		return nil, err
	}
	files, known := changedFiles(ev.Commits, 0)
	r := ev.Repository
	return keep(Push{Provider: GitHub, URLs: []string{r.HTMLURL, r.CloneURL, r.SSHURL, r.GitURL}, Ref: ev.Ref,
		After: ev.After, DefaultBranch: r.DefaultBranch, Changed: files, FilesKnown: known}), nil
}

func parseGitLab(body []byte) ([]Push, error) {
	var ev struct {
		Ref     string `json:"ref"`
		After   string `json:"after"`
		Project struct {
			WebURL        string `json:"web_url"`
			GitHTTPURL    string `json:"git_http_url"`
			GitSSHURL     string `json:"git_ssh_url"`
			DefaultBranch string `json:"default_branch"`
		} `json:"project"`
		Repository struct {
			Homepage   string `json:"homepage"`
			GitHTTPURL string `json:"git_http_url"`
			GitSSHURL  string `json:"git_ssh_url"`
		} `json:"repository"`
		Commits []commitFiles `json:"commits"`
		Total   int           `json:"total_commits_count"`
	}
	if err := decode(body, &ev); err != nil {
		return nil, err
	}
	files, known := changedFiles(ev.Commits, ev.Total)
	p, r := ev.Project, ev.Repository
	return keep(Push{Provider: GitLab, URLs: []string{p.WebURL, p.GitHTTPURL, p.GitSSHURL, r.Homepage, r.GitHTTPURL, r.GitSSHURL},
		Ref: ev.Ref, After: ev.After, DefaultBranch: p.DefaultBranch, Changed: files, FilesKnown: known}), nil
}

func parseGitea(provider string, body []byte) ([]Push, error) {
	var ev struct {
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Repository struct {
			HTMLURL       string `json:"html_url"`
			CloneURL      string `json:"clone_url"`
			SSHURL        string `json:"ssh_url"`
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
		Commits []commitFiles `json:"commits"`
		Total   int           `json:"total_commits"`
	}
	if err := decode(body, &ev); err != nil {
		return nil, err
	}
	files, known := changedFiles(ev.Commits, ev.Total)
	r := ev.Repository
	return keep(Push{Provider: provider, URLs: []string{r.HTMLURL, r.CloneURL, r.SSHURL}, Ref: ev.Ref,
		After: ev.After, DefaultBranch: r.DefaultBranch, Changed: files, FilesKnown: known}), nil
}

// parseBitbucket reads Bitbucket Cloud's repo:push, one Push per branch
// or tag that moved (deleted ones are skipped). Bitbucket lists no
// changed files.
func parseBitbucket(body []byte) ([]Push, error) {
	type named struct {
		Name string `json:"name"`
	}
	var ev struct {
		Push struct {
			Changes []struct {
				New *struct {
					Type   string `json:"type"`
					Name   string `json:"name"`
					Target struct {
						Hash string `json:"hash"`
					} `json:"target"`
				} `json:"new"`
			} `json:"changes"`
		} `json:"push"`
		Repository struct {
			Links struct {
				HTML struct {
					Href string `json:"href"`
				} `json:"html"`
			} `json:"links"`
			MainBranch *named `json:"mainbranch"`
		} `json:"repository"`
	}
	if err := decode(body, &ev); err != nil {
		return nil, err
	}
	var def string
	if ev.Repository.MainBranch != nil {
		def = ev.Repository.MainBranch.Name
	}
	var out []Push
	for i, ch := range ev.Push.Changes {
		if i == maxChanges {
			break
		}
		if ch.New == nil || ch.New.Name == "" {
			continue
		}
		ref := "refs/heads/" + ch.New.Name
		if ch.New.Type == "tag" || ch.New.Type == "annotated_tag" {
			ref = "refs/tags/" + ch.New.Name
		}
		out = append(out, keep(Push{Provider: Bitbucket, URLs: []string{ev.Repository.Links.HTML.Href}, Ref: ref,
			After: ch.New.Target.Hash, DefaultBranch: def})...)
	}
	return out, nil
}

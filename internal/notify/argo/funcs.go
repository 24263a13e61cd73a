package argo

import (
	"errors"
	"net/url"
	"strings"
	"time"
)

// The helpers Argo CD documents for trigger conditions and templates:
// time.Now / time.Parse and the duration and layout constants,
// strings.ReplaceAll, and repo.RepoURLToHTTPS / FullNameByRepoURL /
// QueryEscape. repo.GetCommitMetadata and repo.GetAppDetails need Argo's
// repo-server; here they fail with an error saying so.

// errNeedsRepoServer is what the repo-server helpers fail with.
var errNeedsRepoServer = errors.New("not supported by Tether (it needs Argo CD's repo-server)")

// timeFuncs is the `time` namespace.
func timeFuncs(now func() time.Time) map[string]any {
	return map[string]any{
		"Now": now,
		"Parse": func(s string) time.Time {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				panic(err) // expr and text/template turn it into an error, as upstream
			}
			return t
		},
		"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond, "Millisecond": time.Millisecond,
		"Second": time.Second, "Minute": time.Minute, "Hour": time.Hour,
		"Layout": time.Layout, "ANSIC": time.ANSIC, "UnixDate": time.UnixDate, "RubyDate": time.RubyDate,
		"RFC822": time.RFC822, "RFC822Z": time.RFC822Z, "RFC850": time.RFC850, "RFC1123": time.RFC1123,
		"RFC1123Z": time.RFC1123Z, "RFC3339": time.RFC3339, "RFC3339Nano": time.RFC3339Nano,
		"Kitchen": time.Kitchen, "Stamp": time.Stamp, "StampMilli": time.StampMilli,
		"StampMicro": time.StampMicro, "StampNano": time.StampNano,
	}
}

// stringFuncs is the `strings` namespace.
var stringFuncs = map[string]any{
	"ReplaceAll": strings.ReplaceAll,
}

// repoFuncs is the `repo` namespace.
var repoFuncs = map[string]any{
	"RepoURLToHTTPS":    RepoURLToHTTPS,
	"FullNameByRepoURL": FullNameByRepoURL,
	"QueryEscape":       url.QueryEscape,
	"GetCommitMetadata": func(string) any { panic(errNeedsRepoServer) },
	"GetAppDetails":     func() any { panic(errNeedsRepoServer) },
}

// splitRepoURL returns the host and path of a Git URL, in URL form
// (https://host/path, ssh://user@host:port/path) or scp form
// (user@host:path); ok is false when there is no host.
func splitRepoURL(raw string) (host, path string, ok bool) {
	raw = strings.TrimSpace(raw)
	if i := strings.Index(raw, "://"); i > 0 {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", "", false
		}
		return u.Host, u.Path, true
	}
	// scp form: [user@]host:path
	at := strings.LastIndex(raw, "@")
	rest := raw[at+1:]
	colon := strings.Index(rest, ":")
	if colon <= 0 {
		return "", "", false
	}
	return rest[:colon], "/" + strings.TrimPrefix(rest[colon+1:], "/"), true
}

// RepoURLToHTTPS turns a Git URL of any form into https://host/path,
// without credentials; a URL it cannot read is returned unchanged.
func RepoURLToHTTPS(raw string) string {
	host, path, ok := splitRepoURL(raw)
	if !ok {
		return raw
	}
	if h, port, found := strings.Cut(host, ":"); found && port == "22" {
		host = h // an SSH port means nothing over HTTPS
	}
	return "https://" + host + path
}

// FullNameByRepoURL is a repository's "owner/name" (the first two path
// elements, without .git).
func FullNameByRepoURL(raw string) string {
	_, path, ok := splitRepoURL(raw)
	if !ok {
		path = raw
	}
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	var parts []string
	for p := range strings.SplitSeq(path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return path
}
